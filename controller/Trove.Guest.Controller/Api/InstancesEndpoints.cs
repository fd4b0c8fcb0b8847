using Microsoft.AspNetCore.Builder;

namespace Trove.Guest.Controller.Api;

public static class InstancesEndpoints
{
    public static void MapInstances(this WebApplication app)
    {
    }
}
