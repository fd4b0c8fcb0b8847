using Microsoft.AspNetCore.Builder;

namespace Trove.Guest.Controller.Api;

public static class ConfigurationsEndpoints
{
    public static void MapConfigurations(this WebApplication app)
    {
    }
}
