using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Hosting;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Server.Storage;

namespace Orleans.Hosting;

/// <summary>Adds the OrleansMQ broker to a silo.</summary>
public static class OrleansMQSiloBuilderExtensions
{
    /// <summary>
    /// Adds the broker grains, the message log backend and the grain storage for metadata and cursors. Idempotent:
    /// services registered before (an <see cref="IMessageLogFactory"/>, a keyed <see cref="TimeProvider"/> under
    /// <see cref="OrleansMQServerOptions.TimeProviderKey"/>) win.
    /// </summary>
    public static ISiloBuilder AddOrleansMQ(this ISiloBuilder builder, Action<OrleansMQServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        // The observable gauges must exist before a listener (OpenTelemetry, a MeterListener) looks for instruments.
        OrleansMQ.Server.Telemetry.BrokerGauges.EnsureCreated();
        var options = services.AddOptions<OrleansMQServerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OrleansMQServerOptions>, OrleansMQServerOptionsValidator>());
        services.TryAddKeyedSingleton(OrleansMQServerOptions.TimeProviderKey, TimeProvider.System);
        services.TryAddSingleton<OrleansMQ.Server.Transforms.TransformPipeline>();
        services.TryAddSingleton<IMessageLogFactory>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OrleansMQServerOptions>>().Value;
            IMessageLogFactory factory = o.LogStorage switch
            {
                LogStorageKind.InMemory => new InMemoryMessageLogFactory(Math.Min(o.LogSegmentBytes, InMemoryMessageLogFactory.DefaultSegmentBytes)),
                LogStorageKind.AzureStorage => new AzureMessageLogFactory(
                    Options.Create(new AzureLogOptions { ConnectionString = o.AzureStorageConnectionString, NamePrefix = o.AzureNamePrefix, OwnershipCheckInterval = o.AzureOwnershipCheckInterval }),
                    sp.GetService<Microsoft.Extensions.Logging.ILogger<AzureMessageLogFactory>>()),
                _ => new FileMessageLogFactory(
                    Options.Create(new FileLogOptions { DataDirectory = Path.Combine(o.DataDirectory, "log"), SegmentBytes = o.LogSegmentBytes, FsyncPolicy = o.Fsync, ParallelFlushes = o.ParallelFlushes, Journal = o.FileLogJournal, StoreFanOutOnce = o.FanOutStoreOnce }),
                    sp.GetService<Microsoft.Extensions.Logging.ILogger<FileMessageLogFactory>>()),
            };
            return o.FaultInjection.Enabled && FaultInjectionOptions.AllowedByEnvironment
                ? new FaultInjectingMessageLogFactory(factory, o.FaultInjection.ControlFile!, sp.GetService<Microsoft.Extensions.Logging.ILogger<FaultInjectingMessageLogFactory>>())
                : factory;
        });

        if (!services.Any(s => s.ServiceType == typeof(OrleansMQMarker)))
        {
            services.AddSingleton<OrleansMQMarker>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, PushResumer>();
            services.AddGrainStorage(OrleansMQServerOptions.GrainStorageName, (sp, name) =>
            {
                var o = sp.GetRequiredService<IOptions<OrleansMQServerOptions>>().Value;
                return o.StateStorage switch
                {
                    LogStorageKind.InMemory => (Orleans.Storage.IGrainStorage)ActivatorUtilities.CreateInstance<Orleans.Storage.MemoryGrainStorage>(sp, name, new Orleans.Configuration.MemoryGrainStorageOptions()),
                    LogStorageKind.AzureStorage => Orleans.Storage.AzureTableGrainStorageFactory.Create(sp, name),
                    _ => ActivatorUtilities.CreateInstance<FileGrainStorage>(sp, name, new FileGrainStorageOptions { RootDirectory = Path.Combine(o.DataDirectory, "state"), Journal = o.StateJournal }),
                };
            });

            // Azure Table state (cluster mode): the table and client come from the broker options.
            services.AddOptions<Orleans.Configuration.AzureTableStorageOptions>(OrleansMQServerOptions.GrainStorageName)
                .Configure<IOptions<OrleansMQServerOptions>, Orleans.Serialization.Serializer>((table, mq, serializer) =>
                {
                    if (mq.Value.StateStorage == LogStorageKind.AzureStorage)
                    {
                        table.GrainStorageSerializer ??= CreateStateSerializer(serializer);
                        table.TableServiceClient = new Azure.Data.Tables.TableServiceClient(mq.Value.AzureStorageConnectionString);
                        table.TableName = new string([.. mq.Value.AzureNamePrefix.Where(char.IsAsciiLetterOrDigit)]) + "state";
                    }
                });

            // Storages that initialise with the silo (Azure Table creates its table) take part in its lifecycle.
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
                new StorageLifecycle(sp.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(OrleansMQServerOptions.GrainStorageName)));
        }

        return builder;
    }

    /// <summary>
    /// The serializer of the broker's grain state in Azure Table: Orleans' binary serializer, the one grain calls use, so
    /// every state type that crosses the wire also round-trips through storage. (Orleans' default for grain storage is
    /// Newtonsoft JSON with type names, which cannot read back the compiler-generated list types that collection
    /// expressions create, e.g. a subscription's transforms: the state was written but a new activation after a
    /// failover could not load it.)
    /// </summary>
    internal static Orleans.Storage.IGrainStorageSerializer CreateStateSerializer(Orleans.Serialization.Serializer serializer) =>
        new Orleans.Storage.OrleansGrainStorageSerializer(serializer);

    private sealed class OrleansMQMarker;

    private sealed class StorageLifecycle(Orleans.Storage.IGrainStorage storage) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) => (storage as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);
    }
}
