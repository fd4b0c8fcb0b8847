using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trove.Guest.Controller.Api;
using Trove.Guest.State;
using Trove.Guest.State.Identity;

namespace Trove.Guest.Bench.Controller;

/// <summary>
/// The reference for the API's throughput: the same ASP.NET Core (slim builder, Kestrel) answering the very bytes our
/// list and show answered, with no state behind them. <c>/bare/...</c> is transport only; <c>/v1.0/{project}/...</c>
/// goes through our <see cref="TokenAuthentication"/> first (a token lookup in the state database per request), so the
/// difference between the two is what authentication costs.
/// </summary>
public static class FloorApi
{
    public static WebApplication Build(string listenUrl, StateDatabase database, byte[] list, byte[] show)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(listenUrl);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new IdentityStore(database));
        var app = builder.Build();
        app.UseMiddleware<TokenAuthentication>();
        const string json = "application/json; charset=utf-8";
        app.MapGet("/bare/{projectId}/instances", () => Results.Bytes(list, json));
        app.MapGet("/bare/{projectId}/instances/{id}", () => Results.Bytes(show, json));
        app.MapGet("/v1.0/{projectId}/instances", () => Results.Bytes(list, json));
        app.MapGet("/v1.0/{projectId}/instances/{id}", () => Results.Bytes(show, json));
        return app;
    }
}
