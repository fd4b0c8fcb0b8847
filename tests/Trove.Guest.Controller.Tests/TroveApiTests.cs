using System.Net;
using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Trove.Guest.Controller.Api;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Migrations;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests;

/// <summary>A clock the tests move forward, to expire tokens without waiting an hour.</summary>
public sealed class ManualClock : TimeProvider
{
    public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>The API on a fresh SQLite state database, on a free loopback port: two projects with a user each, two flavors, two datastores.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-api-").FullName;
    private WebApplication _app = null!;

    public ManualClock Clock { get; } = new();
    public string BaseUrl { get; private set; } = "";
    public string ProjectA { get; private set; } = "";
    public string ProjectB { get; private set; } = "";
    public string MariaDbVersion { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var database = StateDatabase.Sqlite(Path.Combine(_dir, "state.sqlite"));
        await new Migrator(database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        var identity = new IdentityStore(database);
        ProjectA = await identity.CreateProjectAsync("alpha", CancellationToken.None);
        ProjectB = await identity.CreateProjectAsync("beta", CancellationToken.None);
        await identity.CreateUserAsync(ProjectA, "alice", "alice's secret", CancellationToken.None);
        await identity.CreateUserAsync(ProjectB, "bob", "bob's secret", CancellationToken.None);
        var flavors = new FlavorStore(database);
        await flavors.AddAsync(new Flavor("2", "m1.small", 2048, 1, 20), CancellationToken.None);
        await flavors.AddAsync(new Flavor("db-large", "db.large", 8192, 4, 40), CancellationToken.None);
        var datastores = new DatastoreStore(database);
        var mariadb = await datastores.AddAsync("mariadb", CancellationToken.None);
        MariaDbVersion = await datastores.AddVersionAsync(mariadb, "10.11", "10.11.19", "mariadb", "image-1", "trove,mariadb", active: true, CancellationToken.None);
        await datastores.AddVersionAsync(mariadb, "10.6", "10.6.1", "mariadb", "image-0", "trove,mariadb", active: false, CancellationToken.None);
        await datastores.SetDefaultVersionAsync(mariadb, MariaDbVersion, CancellationToken.None);
        await datastores.AddAsync("postgresql", CancellationToken.None);
        BaseUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        _app = TroveApi.Build(new ApiOptions { ListenUrl = BaseUrl }, database, Clock);
        await _app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// Trove's API as built so far, through the real <c>trove</c> command of python3-troveclient (its v1 auth with
/// <c>--bypass-url</c>) and over plain HTTP: login, flavors, datastores and versions; a wrong password, a missing,
/// foreign or expired token, an unknown datastore.
/// </summary>
public sealed class TroveApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static readonly HttpClient Http = new();

    private Task<BufferedCommandResult> TroveAsync(string user, string password, string project, params string[] command) =>
        CliWrap.Cli.Wrap("/usr/bin/trove")
            .WithArguments(["--os-auth-url", $"{api.BaseUrl}/v1.0", "--bypass-url", $"{api.BaseUrl}/v1.0/{project}",
                "--os-username", user, "--os-password", password, "--os-project-name", project, .. command])
            // Only what this test says: no OS_* of the caller's environment.
            .WithEnvironmentVariables(e => e.Set("OS_AUTH_URL", null).Set("OS_USERNAME", null).Set("OS_PASSWORD", null).Set("OS_CLOUD", null))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();

    private async Task<string> LoginAsync(string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{api.BaseUrl}/v1.0");
        request.Headers.Add("X-Auth-User", user);
        request.Headers.Add("X-Auth-Key", password);
        using var response = await Http.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        return response.Headers.GetValues("X-Auth-Token").Single();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, api.BaseUrl + path);
        if (token is not null) request.Headers.Add("X-Auth-Token", token);
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task The_trove_client_logs_in_and_lists_flavors()
    {
        var result = await TroveAsync("alice", "alice's secret", api.ProjectA, "flavor-list");
        result.ExitCode.Should().Be(0, result.StandardError);
        // python3-troveclient's print_list encodes every string cell, so Python 3 prints them as b'...' (its bug, not ours).
        var table = Unquoted(result.StandardOutput);
        table.Should().MatchRegex(@"\|\s*2\s*\|\s*m1\.small\s*\|\s*2048\s*\|\s*1\s*\|\s*20\s*\|")
            .And.MatchRegex(@"\|\s*db-large\s*\|\s*db\.large\s*\|\s*8192\s*\|\s*4\s*\|\s*40\s*\|");
    }

    private static string Unquoted(string output) => System.Text.RegularExpressions.Regex.Replace(output, "b'([^']*)'", "$1");

    [Fact]
    public async Task The_trove_client_lists_datastores_and_their_active_versions()
    {
        var list = await TroveAsync("alice", "alice's secret", api.ProjectA, "datastore-list");
        list.ExitCode.Should().Be(0, list.StandardError);
        Unquoted(list.StandardOutput).Should().MatchRegex(@"\|\s*[0-9a-f-]{36}\s*\|\s*mariadb\s*\|").And.MatchRegex(@"\|\s*postgresql\s*\|");

        var show = await TroveAsync("alice", "alice's secret", api.ProjectA, "datastore-show", "mariadb");
        show.ExitCode.Should().Be(0, show.StandardError);
        Unquoted(show.StandardOutput).Should().MatchRegex(@"default_version\s*\|\s*10\.11\s*\|").And.Contain($"10.11 ({api.MariaDbVersion})").And.NotContain("10.6");

        var versions = await TroveAsync("alice", "alice's secret", api.ProjectA, "datastore-version-list", "mariadb");
        versions.ExitCode.Should().Be(0, versions.StandardError);
        Unquoted(versions.StandardOutput).Should().Contain(api.MariaDbVersion).And.Contain("10.11").And.NotContain("10.6", "an inactive version is not offered");

        var missing = await TroveAsync("alice", "alice's secret", api.ProjectA, "datastore-show", "nosuchdb");
        missing.ExitCode.Should().NotBe(0);
        (missing.StandardOutput + missing.StandardError).Should().Contain("Datastore 'nosuchdb' cannot be found.");
    }

    [Fact]
    public async Task A_wrong_password_or_project_is_refused_by_the_trove_client()
    {
        var wrong = await TroveAsync("alice", "not it", api.ProjectA, "flavor-list");
        wrong.ExitCode.Should().NotBe(0);
        (wrong.StandardOutput + wrong.StandardError).Should().Contain("Invalid OpenStack Trove credentials");

        var otherProject = await TroveAsync("alice", "alice's secret", api.ProjectB, "flavor-list");
        otherProject.ExitCode.Should().NotBe(0, "alice is not in beta");
    }

    [Fact]
    public async Task A_token_opens_its_own_project_only()
    {
        var token = await LoginAsync("alice", "alice's secret");
        (await GetAsync($"/v1.0/{api.ProjectA}/flavors", token)).Status.Should().Be(HttpStatusCode.OK);

        var (status, body) = await GetAsync($"/v1.0/{api.ProjectB}/flavors", token);
        status.Should().Be(HttpStatusCode.Forbidden);
        body.GetProperty("forbidden").GetProperty("message").GetString().Should().Be($"User with tenant id {api.ProjectA} cannot access this resource.");

        (status, body) = await GetAsync($"/v1.0/{api.ProjectA}/flavors", null);
        status.Should().Be(HttpStatusCode.Unauthorized);
        body.GetProperty("unauthorized").GetProperty("code").GetInt32().Should().Be(401);
        (await GetAsync($"/v1.0/{api.ProjectA}/flavors", token + "x")).Status.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_token_expires()
    {
        var token = await LoginAsync("bob", "bob's secret");
        (await GetAsync($"/v1.0/{api.ProjectB}/flavors", token)).Status.Should().Be(HttpStatusCode.OK);
        api.Clock.Now += TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1);
        try
        {
            (await GetAsync($"/v1.0/{api.ProjectB}/flavors", token)).Status.Should().Be(HttpStatusCode.Unauthorized);
        }
        finally
        {
            api.Clock.Now -= TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1);
        }
    }
}
