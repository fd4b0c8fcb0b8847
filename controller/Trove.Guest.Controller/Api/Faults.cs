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

    public static IResult BadRequest(string message) => Fault("badRequest", StatusCodes.Status400BadRequest, message);

    /// <summary>Trove answers an action on an instance that is busy (or in the wrong state) with 422.</summary>
    public static IResult Unprocessable(string message) => Fault("unprocessableEntity", StatusCodes.Status422UnprocessableEntity, message);

    public static IResult Conflict(string message) => Fault("conflictingRequest", StatusCodes.Status409Conflict, message);

    public static IResult TooLarge() =>
        Fault("overLimit", StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {ApiRequest.MaxBodyBytes} bytes.");

    /// <summary>
    /// Something outside the request went wrong (a guest that refused a configuration, an object store that refused a
    /// delete): 500 with what happened. Guest errors of the database and user resources are Trove's 400 instead.
    /// </summary>
    public static IResult GuestError(string message) => Fault("instanceFault", StatusCodes.Status500InternalServerError, message);

    public static IResult Fault(string kind, int code, string message) =>
        Results.Json(new Dictionary<string, object> { [kind] = new Dictionary<string, object> { ["code"] = code, ["message"] = message } }, statusCode: code);
}
