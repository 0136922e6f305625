using Microsoft.AspNetCore.Http;

namespace OrleansMQ.Gateway.Http;

/// <summary>
/// RFC 7807 problem details for broker errors: the HTTP status follows the <see cref="ErrorCode"/>, which travels as
/// the <c>code</c> extension (type <c>urn:orleansmq:error:{code}</c>).
/// </summary>
internal static class GatewayProblems
{
    public static int StatusFor(ErrorCode code) => code switch
    {
        ErrorCode.NotFound => StatusCodes.Status404NotFound,
        ErrorCode.AlreadyExists => StatusCodes.Status409Conflict,
        ErrorCode.InvalidName => StatusCodes.Status400BadRequest,
        ErrorCode.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorCode.MessageTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCode.HeadersTooLarge => StatusCodes.Status400BadRequest,
        ErrorCode.BacklogFull => StatusCodes.Status429TooManyRequests,
        ErrorCode.Unauthorized => StatusCodes.Status401Unauthorized,
        ErrorCode.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCode.LimitExceeded => StatusCodes.Status429TooManyRequests,
        ErrorCode.UnknownDelivery => StatusCodes.Status404NotFound,
        ErrorCode.DeliveryExpired => StatusCodes.Status410Gone,
        ErrorCode.ConsumerBusy => StatusCodes.Status409Conflict,
        ErrorCode.ConsumerFenced => StatusCodes.Status409Conflict,
        ErrorCode.OutOfOrderSequence => StatusCodes.Status409Conflict,
        ErrorCode.InvalidOperation => StatusCodes.Status409Conflict,
        ErrorCode.Unroutable => StatusCodes.Status422UnprocessableEntity,
        ErrorCode.RequestTimeout => StatusCodes.Status504GatewayTimeout,
        ErrorCode.StorageFull => StatusCodes.Status507InsufficientStorage,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static IResult For(OrleansMQException error, HttpContext context, IDictionary<string, object?>? extensions = null) =>
        Create(error.Code, StatusFor(error.Code), error.Message, context, extensions);

    public static IResult Create(ErrorCode code, int status, string detail, HttpContext context, IDictionary<string, object?>? extensions = null)
    {
        if (code == ErrorCode.BacklogFull)
        {
            context.Response.Headers.RetryAfter = "1";
        }
        else if (code == ErrorCode.Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer, ApiKey";
        }

        var all = new Dictionary<string, object?>(extensions ?? new Dictionary<string, object?>()) { ["code"] = code.ToString() };
        return TypedResults.Problem(detail: detail, instance: context.Request.Path, statusCode: status, title: Title(code), type: $"urn:orleansmq:error:{code}", extensions: all);
    }

    private static string Title(ErrorCode code) => code switch
    {
        ErrorCode.NotFound => "Not found",
        ErrorCode.AlreadyExists => "Already exists",
        ErrorCode.InvalidName => "Invalid name",
        ErrorCode.InvalidArgument => "Invalid argument",
        ErrorCode.MessageTooLarge => "Message too large",
        ErrorCode.HeadersTooLarge => "Headers too large",
        ErrorCode.BacklogFull => "Backlog full",
        ErrorCode.UnknownDelivery => "Unknown delivery",
        ErrorCode.DeliveryExpired => "Delivery expired",
        ErrorCode.ConsumerBusy => "Consumer busy",
        ErrorCode.ConsumerFenced => "Consumer fenced",
        ErrorCode.Unroutable => "Unroutable",
        ErrorCode.RequestTimeout => "Request timeout",
        ErrorCode.Unauthorized => "Unauthorized",
        ErrorCode.Forbidden => "Forbidden",
        ErrorCode.LimitExceeded => "Limit exceeded",
        ErrorCode.StorageFull => "Storage full",
        _ => code.ToString(),
    };
}
