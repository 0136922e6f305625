namespace OrleansMQ.Server.Storage;

/// <summary>
/// The Azure Blob Storage limits the Azure log stays within. Azurite does not enforce all of them, so the log checks them
/// itself (<see cref="AzureLogOptionsValidator"/> for settings, <see cref="CheckAppend"/> before every request).
/// </summary>
public static class AzureBlobLimits
{
    /// <summary>
    /// Most bytes in one Append Block request: 4 MiB (service versions from 2022-11-02 accept 100 MiB; the log keeps to
    /// the limit every version and the emulator accept).
    /// </summary>
    public const int MaxAppendBlockBytes = 4 * 1024 * 1024;

    /// <summary>Most blocks one append blob can hold; further appends fail with <c>BlockCountExceedsLimit</c>.</summary>
    public const int MaxBlocksPerAppendBlob = 50_000;

    /// <summary>
    /// Refuses an append the service would refuse (or the configured limits forbid): called right before each Append Block,
    /// so a bug in the packing or rolling logic surfaces as a clear error instead of a half-understood 4xx.
    /// </summary>
    /// <param name="bytes">The block's length.</param>
    /// <param name="committedBlocks">Blocks already in the blob.</param>
    /// <param name="maxAppendBytes">The configured bytes per append (≤ <see cref="MaxAppendBlockBytes"/>).</param>
    /// <param name="maxBlocks">The configured blocks per blob (≤ <see cref="MaxBlocksPerAppendBlob"/>).</param>
    /// <exception cref="InvalidOperationException">The block is empty or too large, or the blob has no room for it.</exception>
    internal static void CheckAppend(int bytes, long committedBlocks, int maxAppendBytes, int maxBlocks)
    {
        if (bytes <= 0 || bytes > Math.Min(maxAppendBytes, MaxAppendBlockBytes))
        {
            throw new InvalidOperationException(
                $"An append block of {bytes} bytes is outside the limit of 1–{Math.Min(maxAppendBytes, MaxAppendBlockBytes)} bytes per Append Block request.");
        }

        if (committedBlocks + 1 > Math.Min(maxBlocks, MaxBlocksPerAppendBlob))
        {
            throw new InvalidOperationException(
                $"An append blob holding {committedBlocks} blocks cannot take another: the limit is {Math.Min(maxBlocks, MaxBlocksPerAppendBlob)} blocks per blob.");
        }
    }
}
