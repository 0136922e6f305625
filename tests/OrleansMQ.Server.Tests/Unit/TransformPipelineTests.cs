using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Server.Transforms;
using OrleansMQ.Tests.Cluster;

namespace OrleansMQ.Tests.Unit;

public sealed class TransformPipelineTests
{
    private static readonly TransformPipeline Pipeline = new(new ServiceCollection()
        .AddKeyedSingleton<IMessageTransform, UpperCaseTransform>("upper")
        .AddKeyedSingleton<IMessageTransform, RejectingTransform>("explode")
        .AddKeyedSingleton<IMessageTransform, HangingTransform>("hang")
        .BuildServiceProvider());

    private static Message Json(string json) => new(Encoding.UTF8.GetBytes(json)) { ContentType = "application/json", MessageId = "m-1", Key = "k" };

    [Fact]
    public async Task Header_steps_set_remove_and_rename()
    {
        var m = Message.FromText("x").WithHeader("a", "1").WithHeader("b", "2");
        var t = await Pipeline.ApplyAsync(m, [TransformStep.SetHeader("c", "3"), TransformStep.RemoveHeader("a"), TransformStep.RenameHeader("b", "bee")]);
        Assert.Equal(new Dictionary<string, string> { ["c"] = "3", ["bee"] = "2" }, t.Headers!.OrderBy(h => h.Key).ToDictionary());
    }

    [Fact]
    public async Task Json_projection_builds_a_new_object_from_paths()
    {
        var t = await Pipeline.ApplyAsync(Json("""{"id": 7, "customer": {"name": "Ada", "tier": "gold"}, "secret": "x"}"""),
            [TransformStep.JsonProject("id, customer.name as customer, missing.path")]);
        Assert.Equal("""{"id":7,"customer":"Ada","path":null}""", Encoding.UTF8.GetString(t.Body.Span));
    }

    [Fact]
    public async Task CloudEvents_wrap_and_unwrap_round_trip()
    {
        var wrapped = await Pipeline.ApplyAsync(Json("""{"amount": 5}"""), [TransformStep.CloudEventsWrap("/orders", "order.created")]);
        Assert.StartsWith("application/cloudevents+json", wrapped.ContentType);
        using var doc = JsonDocument.Parse(wrapped.Body);
        Assert.Equal("1.0", doc.RootElement.GetProperty("specversion").GetString());
        Assert.Equal("order.created", doc.RootElement.GetProperty("type").GetString());
        Assert.Equal("/orders", doc.RootElement.GetProperty("source").GetString());
        Assert.Equal("m-1", doc.RootElement.GetProperty("id").GetString());
        Assert.Equal(5, doc.RootElement.GetProperty("data").GetProperty("amount").GetInt32());

        var unwrapped = await Pipeline.ApplyAsync(wrapped, [TransformStep.CloudEventsUnwrap()]);
        Assert.Equal("""{"amount":5}""", Encoding.UTF8.GetString(unwrapped.Body.Span).Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal("application/json", unwrapped.ContentType);
        Assert.Equal("order.created", unwrapped.Headers!["ce-type"]);
    }

    [Fact]
    public async Task Content_type_conversion_between_text_and_json()
    {
        var json = await Pipeline.ApplyAsync(Message.FromText("he said \"hi\""), [TransformStep.ContentType("application/json")]);
        Assert.Equal("\"he said \\u0022hi\\u0022\"", Encoding.UTF8.GetString(json.Body.Span));
        var text = await Pipeline.ApplyAsync(json, [TransformStep.ContentType("text/plain")]);
        Assert.Equal("he said \"hi\"", Encoding.UTF8.GetString(text.Body.Span));
    }

    [Fact]
    public async Task User_transforms_run_from_DI_and_failures_name_the_step()
    {
        var t = await Pipeline.ApplyAsync(Message.FromText("abc"), [TransformStep.Custom("upper")]);
        Assert.Equal("ABC", Encoding.UTF8.GetString(t.Body.Span));

        var ex = await Assert.ThrowsAsync<TransformException>(async () => await Pipeline.ApplyAsync(Message.FromText("bad"), [TransformStep.Custom("explode") with { Name = "validate" }, TransformStep.Custom("upper")]));
        Assert.Equal("validate", ex.Step);
        Assert.Contains("body contains 'bad'", ex.Message);

        var notJson = await Assert.ThrowsAsync<TransformException>(async () => await Pipeline.ApplyAsync(Message.FromText("plain"), [TransformStep.JsonProject("a")]));
        Assert.Equal("json-project#1", notJson.Step);
    }

    [Fact]
    public async Task A_user_transform_that_never_completes_fails_its_step_after_the_step_timeout()
    {
        var ex = await Assert.ThrowsAsync<TransformException>(async () =>
            await Pipeline.ApplyAsync(Message.FromText("x"), [TransformStep.SetHeader("a", "b"), TransformStep.Custom("hang") with { Name = "slow-enrich" }]).AsTask().WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("slow-enrich", ex.Step);
        Assert.Contains($"timed out after {TransformPipeline.StepTimeout}", ex.Message);
    }

    [Fact]
    public async Task Built_in_steps_and_synchronous_user_transforms_complete_synchronously()
    {
        // The router runs the pipeline for every routed copy: no await, no timer, when no step actually goes async.
        var pending = Pipeline.ApplyAsync(Json("{\"id\":1,\"name\":\"n\"}"),
            [TransformStep.SetHeader("a", "b"), TransformStep.RenameHeader("a", "c"), TransformStep.JsonProject("id"), TransformStep.CloudEventsWrap("/s", "t"), TransformStep.Custom("upper")]);
        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Equal("b", (await pending).Headers!["c"]);
    }

    [Fact]
    public void Invalid_steps_are_refused_up_front()
    {
        Assert.Equal(ErrorCode.InvalidArgument, Assert.Throws<OrleansMQException>(() => Pipeline.Validate([new TransformStep { Type = "teleport" }], "b")).Code);
        Assert.Contains("'nope'", Assert.Throws<OrleansMQException>(() => Pipeline.Validate([TransformStep.Custom("nope")], "b")).Message);
        Assert.Contains("'value'", Assert.Throws<OrleansMQException>(() => Pipeline.Validate([new TransformStep { Type = "set-header", Parameters = new Dictionary<string, string> { ["header"] = "h" } }], "b")).Message);
        Pipeline.Validate([TransformStep.Custom("upper"), TransformStep.CloudEventsWrap("/s", "t")], "b");
    }
}

/// <summary>A user transform that never finishes (a hung dependency).</summary>
internal sealed class HangingTransform : IMessageTransform
{
    private readonly TaskCompletionSource<Message> _never = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ValueTask<Message> TransformAsync(Message message, CancellationToken cancellationToken) => new(_never.Task);
}
