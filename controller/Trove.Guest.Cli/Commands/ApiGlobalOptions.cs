using System.CommandLine;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// troveclient's global options, accepted before or after the command: where to log in, as whom, and <c>--json</c>.
/// Each falls back to troveclient's environment variable; the password is meant to come from <c>OS_PASSWORD</c> only.
/// </summary>
internal sealed class ApiGlobalOptions
{
    public Option<string?> AuthUrl { get; } = new("--os-auth-url")
    {
        Description = "Trove's v1 auth URL, e.g. http://127.0.0.1:8779/v1.0 (default: env[OS_AUTH_URL])", Recursive = true,
    };

    public Option<string?> UserName { get; } = new("--os-username") { Description = "user name (default: env[OS_USERNAME])", Recursive = true };

    public Option<string?> Password { get; } = new("--os-password")
    {
        Description = "password; prefer env[OS_PASSWORD], which keeps it out of argv and the process list", Recursive = true,
    };

    public Option<string?> Project { get; } = new("--os-project-name", "--os-tenant-name")
    {
        Description = "project name or id (default: env[OS_PROJECT_NAME] or env[OS_TENANT_NAME])", Recursive = true,
    };

    public Option<string?> BypassUrl { get; } = new("--bypass-url")
    {
        Description = "use this project API URL instead of the one the login returns (default: env[TROVE_BYPASS_URL])", Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json", "--os-json-output")
    {
        Description = "print the API's JSON (an object, or an array for lists) instead of tables (default: env[OS_JSON_OUTPUT])", Recursive = true,
    };

    public void AddTo(Command root)
    {
        foreach (var option in new Option[] { AuthUrl, UserName, Password, Project, BypassUrl, Json }) root.Options.Add(option);
    }
}
