using Microsoft.AspNetCore.Http;
using Trove.Guest.State.Identity;

namespace Trove.Guest.Controller.Api;

/// <summary>
/// What keystonemiddleware does in front of Trove's API: every <c>/v1.0/{project_id}/...</c> request needs a valid
/// <c>X-Auth-Token</c> (401 otherwise), and the token's project must be the one in the path (403 otherwise, with
/// Trove's message). The principal is left in <c>HttpContext.Items</c> for the handlers.
/// </summary>
public sealed class TokenAuthentication(RequestDelegate next, IdentityStore identity)
{
    public const string PrincipalKey = "trove-guest.principal";

    public async Task InvokeAsync(HttpContext context)
    {
        var segments = context.Request.Path.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (segments.Length < 2 || segments[0] != "v1.0")
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var token = context.Request.Headers["X-Auth-Token"].ToString();
        var principal = token.Length == 0 ? null : await identity.ValidateAsync(token, context.RequestAborted).ConfigureAwait(false);
        if (principal is null)
        {
            await Faults.Unauthorized("The request you have made requires authentication.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        if (segments[1] != principal.ProjectId)
        {
            await Faults.Forbidden($"User with tenant id {principal.ProjectId} cannot access this resource.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        context.Items[PrincipalKey] = principal;
        await next(context).ConfigureAwait(false);
    }
}
