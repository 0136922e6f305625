using System.Diagnostics;
using System.Net.Http.Json;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Gateway.Tests.Infrastructure;

/// <summary>
/// One real silo-host process with the gateway on free loopback ports (file storage, like a deployment), shared by
/// every gateway test; tests use unique names. Ready once <c>/health</c> answers 200.
/// </summary>
public class GatewayFixture : IAsyncLifetime
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _data = new("gateway");
    private SiloHostProcess? _silo;

    public GatewayFixture() => Http = new HttpClient(CreateHandler()) { Timeout = TimeSpan.FromSeconds(30) };

    internal SiloHostProcess Silo => _silo ?? throw new InvalidOperationException("The silo host has not started.");

    /// <summary>A client of the gateway's HTTP port (with the fixture's credentials, if it has any).</summary>
    public HttpClient Http { get; }

    /// <summary>The fixture's temp directory (data, generated certificates).</summary>
    protected string DataPath => _data.Path;

    /// <summary>http, or https when the fixture's gateway uses TLS.</summary>
    protected virtual string Scheme => "http";

    /// <summary>More silo-host command-line settings (security, limits, TLS).</summary>
    protected virtual IEnumerable<string> ExtraArguments() => [];

    /// <summary>The handler of <see cref="Http"/> (a TLS fixture pins its certificate here).</summary>
    protected virtual HttpMessageHandler CreateHandler() => new SocketsHttpHandler();

    public int HttpPort => Silo.HttpPort;

    public int StompPort => Silo.StompPort;

    /// <summary>The silo's Orleans gateway port (for Orleans clients).</summary>
    public int OrleansGatewayPort => Silo.GatewayPort;

    public virtual async Task InitializeAsync()
    {
        try
        {
            _silo = await SiloHostProcess.StartAsync(_data.Path, SiloStorage.File, ["--Logging:LogLevel:OrleansMQ.Gateway=Debug", .. ExtraArguments()]);
            Http.BaseAddress = new Uri($"{Scheme}://127.0.0.1:{_silo.HttpPort}/");
            var started = Stopwatch.StartNew();
            while (!await IsHealthyAsync())
            {
                if (_silo.Current.HasExited || started.Elapsed > ReadyTimeout)
                {
                    throw new InvalidOperationException($"The gateway on 127.0.0.1:{_silo.HttpPort} did not become healthy.\n{_silo.Describe()}");
                }

                await Task.Delay(100);
            }
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>The silo's output so far, for assertion messages.</summary>
    public string Describe() => _silo?.Describe() ?? "(no silo)";

    public virtual async Task DisposeAsync()
    {
        Http.Dispose();
        try
        {
            if (_silo is not null)
            {
                await _silo.DisposeAsync();
            }
        }
        finally
        {
            _data.Dispose();
        }
    }

    private async Task<bool> IsHealthyAsync()
    {
        try
        {
            using var response = await Http.GetAsync("health");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Creates a queue over REST and returns its name.</summary>
    public async Task<string> CreateQueueAsync(string name, object? spec = null)
    {
        using var response = await Http.PutAsJsonAsync($"queues/{name}", spec ?? new { });
        response.EnsureSuccessStatusCode();
        return name;
    }

    /// <summary>Creates a topic over REST and returns its name.</summary>
    public async Task<string> CreateTopicAsync(string name, object? spec = null)
    {
        using var response = await Http.PutAsJsonAsync($"topics/{name}", spec ?? new { });
        response.EnsureSuccessStatusCode();
        return name;
    }
}

/// <summary>Every gateway process test shares one silo host.</summary>
[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
