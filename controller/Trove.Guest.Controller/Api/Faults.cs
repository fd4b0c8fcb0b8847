using Microsoft.AspNetCore.Http;

namespace Trove.Guest.Controller.Api;

/// <summary>
/// Error responses in Trove's shape (<c>{"unauthorized": {"code": 401, "message": "..."}}</c>), which troveclient
/// turns into its exception classes and prints.
/// </summary>
public static class Faults
{
    public static IResult Unauthorized(string message) => Fault("unauthorized", StatusCodes.Status401Unauthorized, message);

    public static IResult NotFound(string message) => Fault("itemNotFound", StatusCodes.Status404NotFound, message);

    public static IResult Forbidden(string message) => Fault("forbidden", StatusCodes.Status403Forbidden, message);

    public static IResult Fault(string kind, int code, string message) =>
        Results.Json(new Dictionary<string, object> { [kind] = new Dictionary<string, object> { ["code"] = code, ["message"] = message } }, statusCode: code);
}
