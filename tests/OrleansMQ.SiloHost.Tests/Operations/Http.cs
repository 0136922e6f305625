namespace OrleansMQ.SiloHost.Tests.Operations;

/// <summary>The silo's HTTP port opens after its Orleans gateway (Kestrel starts last), so tests wait for it.</summary>
internal static class Http
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>An HttpClient on the silo's HTTP port, once <c>/health/live</c> answers (polled, 60 s deadline).</summary>
    public static async Task<HttpClient> ReadyClientAsync(int port)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            try
            {
                if ((await http.GetAsync("/health/live")).IsSuccessStatusCode)
                {
                    return http;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                http.Dispose();
                throw new TimeoutException($"http://127.0.0.1:{port}/health/live did not answer 200 within {Deadline.TotalSeconds:0} s.");
            }

            await Task.Delay(200);
        }
    }
}
