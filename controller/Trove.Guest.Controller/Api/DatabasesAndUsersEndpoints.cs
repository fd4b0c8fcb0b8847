using Microsoft.AspNetCore.Builder;

namespace Trove.Guest.Controller.Api;

public static class DatabasesAndUsersEndpoints
{
    public static void MapDatabasesAndUsers(this WebApplication app)
    {
    }
}
