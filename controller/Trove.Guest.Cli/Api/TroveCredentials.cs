namespace Trove.Guest.Cli.Api;

/// <summary>
/// Who logs in where, as troveclient's v1 auth takes it: <c>--os-auth-url</c>, <c>--os-username</c>, <c>--os-password</c>,
/// <c>--os-project-name</c> (or <c>--os-tenant-name</c>), each falling back to its <c>OS_*</c> variable. The password is meant
/// to come from <c>OS_PASSWORD</c>, which keeps it out of argv.
/// </summary>
internal sealed record TroveCredentials(Uri AuthUrl, string UserName, string Password, string? ProjectName, Uri? BypassUrl)
{
    /// <summary>The credentials, or a usage failure naming what is missing.</summary>
    public static TroveCredentials Resolve(string? authUrl, string? userName, string? password, string? projectName, string? bypassUrl,
        Func<string, string?> environment)
    {
        authUrl = First(authUrl, environment("OS_AUTH_URL"));
        userName = First(userName, environment("OS_USERNAME"));
        password = First(password, environment("OS_PASSWORD"));
        projectName = First(projectName, environment("OS_PROJECT_NAME"), environment("OS_TENANT_NAME"));
        bypassUrl = First(bypassUrl, environment("TROVE_BYPASS_URL"));
        if (authUrl is null) throw new CliFailure(ExitCodes.Usage, "You must provide an auth url via either --os-auth-url or env[OS_AUTH_URL]");
        if (userName is null) throw new CliFailure(ExitCodes.Usage, "You must provide a username via either --os-username or env[OS_USERNAME]");
        if (password is null) throw new CliFailure(ExitCodes.Usage, "You must provide a password via env[OS_PASSWORD] (or --os-password)");
        return new TroveCredentials(AbsoluteHttp(authUrl, "--os-auth-url"), userName, password, projectName,
            bypassUrl is null ? null : AbsoluteHttp(bypassUrl, "--bypass-url"));
    }

    private static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));

    private static Uri AbsoluteHttp(string text, string option) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new CliFailure(ExitCodes.Usage, $"{option} must be an http(s) URL, not '{text}'");

    // The password never shows in a record's printout (logs, exceptions).
    public override string ToString() => $"TroveCredentials {{ AuthUrl = {AuthUrl}, UserName = {UserName}, ProjectName = {ProjectName} }}";
}
