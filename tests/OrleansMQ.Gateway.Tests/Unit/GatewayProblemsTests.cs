using OrleansMQ.Gateway.Http;

namespace OrleansMQ.Gateway.Tests.Unit;

/// <summary>Every broker error has its own HTTP status and title: only <see cref="ErrorCode.Internal"/> is a 500.</summary>
public sealed class GatewayProblemsTests
{
    public static TheoryData<ErrorCode> Codes => [.. Enum.GetValues<ErrorCode>().Where(c => c != ErrorCode.Internal)];

    [Theory]
    [MemberData(nameof(Codes))]
    public void Every_error_code_but_Internal_maps_to_its_own_status(ErrorCode code)
    {
        var status = GatewayProblems.StatusFor(code);
        Assert.InRange(status, 400, 599);
        Assert.NotEqual(500, status);
    }

    [Fact]
    public void A_fenced_consumer_is_a_conflict()
    {
        Assert.Equal(409, GatewayProblems.StatusFor(ErrorCode.ConsumerFenced));
        Assert.Equal(500, GatewayProblems.StatusFor(ErrorCode.Internal));
    }
}
