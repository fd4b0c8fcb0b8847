using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Commands;
using Trove.Guest.Controller.Configuration;

namespace Trove.Guest.Cli.KickStart;

/// <summary>
/// Whom kick-start logs in as, at the controller it made sure of: the <c>OS_*</c> user when <c>OS_USERNAME</c> and
/// <c>OS_PASSWORD</c> (or their options) are given, otherwise the configuration's bootstrap user, whose password is in
/// the variable <c>bootstrap.password_env</c> names. Passwords come from the environment only, never argv.
/// </summary>
internal static class KickStartLogin
{
    public static Task<TroveApiClient> LoginAsync(ControllerConfig config, Uri authUrl, KickStartOptions options, Func<string, string?> variable,
        CancellationToken ct)
    {
        var user = First(options.UserName, variable("OS_USERNAME"));
        var password = First(options.Password, variable("OS_PASSWORD"));
        var project = First(options.Project, variable("OS_PROJECT_NAME"), variable("OS_TENANT_NAME"));
        if (user is null || password is null)
        {
            var bootstrap = config.Bootstrap
                ?? throw new CliFailure(ExitCodes.Usage,
                    $"no user to log in as: set OS_USERNAME and OS_PASSWORD, or give {options.ConfigPath} a bootstrap user");
            user = bootstrap.User;
            password = First(variable(bootstrap.PasswordEnv))
                ?? throw new CliFailure(ExitCodes.Usage, $"bootstrap.password_env names {bootstrap.PasswordEnv}, which is not set (or set OS_USERNAME and OS_PASSWORD)");
            project = bootstrap.Project;
        }
        var credentials = new TroveCredentials(authUrl, user, password, project, null);
        return TroveApiClient.LoginAsync(credentials, ApiCommandBuilder.RequestTimeout, ct);
    }

    private static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));
}
