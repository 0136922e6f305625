using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Server.Transforms;

namespace OrleansMQ.Benchmarks.Micro;

/// <summary>
/// The cost per message of a binding's transform pipeline, as the router runs it on every routed copy: 0 steps (the
/// pass-through every binding pays), 1 (CloudEvents wrap alone), 3 (set header, rename header, CloudEvents wrap) and 6 (set/remove/rename header,
/// JSON projection, a user transform from DI, CloudEvents wrap), on a ~150-byte JSON order.
/// </summary>
[MemoryDiagnoser]
public class TransformPipelineBenchmarks
{
    private TransformPipeline _pipeline = null!;
    private Message _message = null!;
    private TransformStep[] _steps = null!;

    [Params(0, 1, 3, 6)]
    public int Steps { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddKeyedSingleton<IMessageTransform, AddHeaderTransform>("stamp");
        _pipeline = new TransformPipeline(services.BuildServiceProvider());
        _message = new Message(Encoding.UTF8.GetBytes("""{"orderId":"o-0042","customer":{"id":"c-100","name":"Ada Lovelace"},"lines":[{"sku":"BOOK-1","qty":2,"price":12.5}],"total":25.0}"""))
        {
            Key = "c-100",
            MessageId = "o-0042",
            ContentType = "application/json",
            Headers = new Dictionary<string, string> { ["omq-exchange"] = "shop", ["omq-routing-key"] = "orders.eu.created", ["source"] = "web" },
        };
        _steps = Steps switch
        {
            0 => [],
            1 => [TransformStep.CloudEventsWrap("/shop/orders", "order.created")],
            3 => [TransformStep.SetHeader("region", "eu"), TransformStep.RenameHeader("source", "channel"), TransformStep.CloudEventsWrap("/shop/orders", "order.created")],
            _ =>
            [
                TransformStep.SetHeader("region", "eu"), TransformStep.RemoveHeader("omq-exchange"), TransformStep.RenameHeader("source", "channel"),
                TransformStep.JsonProject("orderId, customer.name as customer, total"), TransformStep.Custom("stamp"), TransformStep.CloudEventsWrap("/shop/orders", "order.created"),
            ],
        };
        _pipeline.Validate(_steps, "bench");
    }

    [Benchmark]
    public Message Apply()
    {
        var pending = _pipeline.ApplyAsync(_message, _steps);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>A minimal user transform: the cost of looking it up in DI and calling it.</summary>
    private sealed class AddHeaderTransform : IMessageTransform
    {
        public ValueTask<Message> TransformAsync(Message message, CancellationToken cancellationToken) =>
            ValueTask.FromResult(message.WithHeader("stamped", "yes"));
    }
}
