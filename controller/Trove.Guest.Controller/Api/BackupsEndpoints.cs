using Microsoft.AspNetCore.Builder;

namespace Trove.Guest.Controller.Api;

public static class BackupsEndpoints
{
    public static void MapBackups(this WebApplication app)
    {
    }
}
