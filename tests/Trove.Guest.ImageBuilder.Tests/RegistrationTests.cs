using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.ImageBuilder.CommandLine;
using Trove.Guest.Testing;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// One real Glance for the registration tests of a class, and one Trove database for its trove-manage (its first call
/// creates the schema, which takes about 10 s; the tests keep apart by datastore name).
/// </summary>
public sealed class RegistrationFixture : IAsyncLifetime
{
    public GlanceService Glance { get; private set; } = null!;

    public string TroveDirectory { get; } = Directory.CreateTempSubdirectory("tgi-trove-").FullName;

    public async ValueTask InitializeAsync() => Glance = await GlanceService.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await Glance.DisposeAsync();
        Directory.Delete(TroveDirectory, recursive: true);
    }
}

/// <summary>
/// <c>trove-guest-image register</c> against a real Glance and Trove's real trove-manage (on sqlite): what Glance holds
/// afterwards (state, format, tags, properties, the bytes), what Trove's datastore tables hold, that a second run
/// reuses the image and a broken earlier upload is replaced, and that failures say what went wrong, without the token.
/// </summary>
public sealed class RegistrationTests(RegistrationFixture fixture) : IClassFixture<RegistrationFixture>, IDisposable
{
    private const string Token = "tgi-secret-token-7f3a9c";
    private readonly string _dir = Directory.CreateTempSubdirectory("tgi-register-").FullName;

    private GlanceService Glance => fixture.Glance;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string TroveManageScript => Path.Combine(RepoPaths.Shared, "services", "trove-manage.sh");

    /// <summary>The --trove-manage prefix for a trove-manage on its own sqlite database in <paramref name="dir"/>.</summary>
    private static string TroveManage(string dir) => $"bash {TroveManageScript} {dir}";

    private static async Task<(int Code, string Stdout, string Stderr)> RegisterAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ImageCli.RunAsync(["register", .. args, "--token", Token], stdout, stderr);
        var (o, e) = (stdout.ToString(), stderr.ToString());
        o.Should().NotContain(Token, "the token is never printed");
        e.Should().NotContain(Token, "the token is never printed");
        return (code, o, e);
    }

    /// <summary>A real qcow2 (64 MiB virtual) holding 4 MiB of random data, so each test's image has its own sha256.</summary>
    private async Task<string> MakeQcow2Async(string name, bool withSbom = false)
    {
        var raw = Path.Combine(_dir, name + ".raw");
        await using (var f = File.Create(raw))
        {
            f.SetLength(64L << 20);
            f.Write(RandomNumberGenerator.GetBytes(3 << 20));
            f.Position = 32L << 20;
            f.Write(RandomNumberGenerator.GetBytes(1 << 20));
        }
        var qcow2 = Path.Combine(_dir, name + ".qcow2");
        await Cli.Wrap("qemu-img").WithArguments(["convert", "-f", "raw", "-O", "qcow2", raw, qcow2]).ExecuteBufferedAsync();
        File.Delete(raw);
        if (withSbom)
            await File.WriteAllTextAsync(Path.Combine(_dir, name + ".spdx.json"), $$"""{"spdxVersion": "SPDX-2.3", "name": "{{name}}", "packages": []}""");
        return qcow2;
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static async Task<string> SqliteAsync(string dir, string sql) =>
        (await Cli.Wrap("sqlite3").WithArguments([Path.Combine(dir, "trove.sqlite"), sql]).ExecuteBufferedAsync()).StandardOutput.Trim();

    private static async Task<string> TroveManageAsync(string dir, params string[] args)
    {
        var run = await Cli.Wrap("bash").WithArguments([TroveManageScript, dir, .. args]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        return run.StandardOutput + run.StandardError;
    }

    private async Task<List<JsonObject>> ImagesWithHashAsync(string sha256) =>
        (await Glance.ImagesAsync()).Where(i => i["trove_guest_image_sha256"]?.GetValue<string>() == sha256).ToList();

    [Fact]
    public async Task A_qcow2_and_its_sbom_become_an_active_tagged_glance_image_and_the_default_version_of_its_datastore()
    {
        var image = await MakeQcow2Async("guest", withSbom: true);
        var trove = fixture.TroveDirectory;

        var (code, stdout, stderr) = await RegisterAsync(image, "--glance-url", Glance.Url, "--datastore", "mysql", "--datastore-version", "8.0",
            "--trove-manage", TroveManage(trove));

        code.Should().Be(ImageCli.Ok, $"stdout:\n{stdout}\nstderr:\n{stderr}");
        stdout.Should().Contain("(100%)", "the upload reports its progress");
        var found = await ImagesWithHashAsync(Sha256(image));
        found.Should().ContainSingle();
        var glanceImage = found[0];
        var id = glanceImage["id"]!.GetValue<string>();
        glanceImage["status"]!.GetValue<string>().Should().Be("active");
        glanceImage["name"]!.GetValue<string>().Should().Be("trove-guest-mysql-8.0");
        glanceImage["disk_format"]!.GetValue<string>().Should().Be("qcow2");
        glanceImage["container_format"]!.GetValue<string>().Should().Be("bare");
        glanceImage["virtual_size"]!.GetValue<long>().Should().Be(64L << 20, "Glance read the qcow2 header of what was uploaded");
        glanceImage["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().BeEquivalentTo("trove", "mysql");
        glanceImage["trove_datastore"]!.GetValue<string>().Should().Be("mysql");
        glanceImage["trove_datastore_version"]!.GetValue<string>().Should().Be("8.0");
        glanceImage["trove_guest_sbom_sha256"]!.GetValue<string>().Should().Be(Sha256(Path.Combine(_dir, "guest.spdx.json")));
        (await Glance.DownloadAsync(id)).Should().Equal(await File.ReadAllBytesAsync(image));
        // Trove finds it the way its own glance.py does, by tags and status.
        (await Glance.ImagesAsync("tag=trove&tag=mysql&status=active")).Select(i => i["id"]!.GetValue<string>()).Should().Contain(id);

        var row = await SqliteAsync(trove,
            "select d.name, v.name, v.version, v.manager, v.image_id, v.image_tags, v.active, d.default_version_id = v.id " +
            "from datastores d join datastore_versions v on v.datastore_id = d.id where d.name = 'mysql'");
        row.Should().Be($"mysql|8.0|8.0|mysql|{id}|trove,mysql|1|1");
    }

    [Fact]
    public async Task Registering_the_same_file_again_reuses_its_image()
    {
        var image = await MakeQcow2Async("again");
        string[] args = [image, "--glance-url", Glance.Url, "--datastore", "mariadb", "--datastore-version", "10.11", "--no-trove-manage"];

        var first = await RegisterAsync(args);
        first.Code.Should().Be(ImageCli.Ok, first.Stderr);
        var id = (await ImagesWithHashAsync(Sha256(image))).Should().ContainSingle().Subject["id"]!.GetValue<string>();

        var second = await RegisterAsync([.. args, "--name", "another-name"]);
        second.Code.Should().Be(ImageCli.Ok, second.Stderr);
        second.Stdout.Should().Contain($"image already in Glance as {id}").And.NotContain("(100%)", "nothing is uploaded");
        (await ImagesWithHashAsync(Sha256(image))).Should().ContainSingle().Which["id"]!.GetValue<string>().Should().Be(id);

        // For a second datastore the one image gets that datastore's tag, which Trove's lookup needs.
        var third = await RegisterAsync(image, "--glance-url", Glance.Url, "--datastore", "mysql", "--datastore-version", "8.4", "--no-trove-manage");
        third.Code.Should().Be(ImageCli.Ok, third.Stderr);
        var tagged = (await ImagesWithHashAsync(Sha256(image))).Should().ContainSingle().Subject;
        tagged["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().BeEquivalentTo("trove", "mariadb", "mysql");
    }

    [Fact]
    public async Task An_image_an_earlier_run_left_queued_is_deleted_and_the_file_uploaded_again()
    {
        var image = await MakeQcow2Async("stale");
        var stale = await Glance.CreateAsync(new JsonObject
        {
            ["name"] = "trove-guest-mysql-8.0", ["disk_format"] = "qcow2", ["container_format"] = "bare",
            ["tags"] = new JsonArray("trove", "mysql"), ["trove_guest_image_sha256"] = Sha256(image),
        });
        var staleId = stale["id"]!.GetValue<string>();

        var (code, stdout, stderr) = await RegisterAsync(image, "--glance-url", Glance.Url, "--datastore", "mysql", "--datastore-version", "8.0", "--no-trove-manage");

        code.Should().Be(ImageCli.Ok, stderr);
        stdout.Should().Contain($"deleting image {staleId}");
        (await Glance.ImageAsync(staleId)).Should().BeNull();
        var fresh = (await ImagesWithHashAsync(Sha256(image))).Should().ContainSingle().Subject;
        fresh["id"]!.GetValue<string>().Should().NotBe(staleId);
        fresh["status"]!.GetValue<string>().Should().Be("active");
    }

    [Fact]
    public async Task An_upload_cut_off_midway_fails_clearly_and_the_next_run_replaces_the_broken_image()
    {
        await using var glance = await GlanceService.StartAsync();
        // Big enough that Glance, stopped at the first progress line, cannot have taken it all.
        var image = Path.Combine(_dir, "big.raw");
        await using (var f = File.Create(image))
        {
            f.SetLength(512L << 20);
            f.Write(RandomNumberGenerator.GetBytes(1 << 20));
        }
        string[] args = ["register", image, "--glance-url", glance.Url, "--datastore", "mysql", "--datastore-version", "8.0", "--no-trove-manage", "--token", Token];

        Task? stopping = null;
        var stdout = new CallbackWriter(line =>
        {
            if (line.StartsWith("uploaded ", StringComparison.Ordinal)) stopping ??= Task.Run(glance.StopAsync);
        });
        var stderr = new StringWriter();
        var code = await ImageCli.RunAsync(args, stdout, stderr);
        await stopping!;

        code.Should().Be(ImageCli.Failed, stdout.ToString());
        stderr.ToString().Should().Contain($"upload of {image} to Glance at {glance.Url} failed")
            .And.Contain("could not be deleted", "Glance is gone, so the half-made image stays behind")
            .And.NotContain(Token);
        stdout.ToString().Should().NotContain("(100%)");

        await glance.StartAgainAsync();
        var broken = (await glance.ImagesAsync()).Should().ContainSingle().Subject;
        broken["status"]!.GetValue<string>().Should().BeOneOf("queued", "saving");
        var brokenId = broken["id"]!.GetValue<string>();

        var again = new StringWriter();
        var retry = await ImageCli.RunAsync(args, again, stderr);
        retry.Should().Be(ImageCli.Ok, stderr.ToString());
        again.ToString().Should().Contain($"deleting image {brokenId}");
        var fresh = (await glance.ImagesAsync()).Should().ContainSingle().Subject;
        fresh["status"]!.GetValue<string>().Should().Be("active");
        fresh["size"]!.GetValue<long>().Should().Be(512L << 20);
    }

    [Fact]
    public async Task A_missing_image_file_fails_with_its_path()
    {
        var missing = Path.Combine(_dir, "nope.qcow2");
        var (code, _, stderr) = await RegisterAsync(missing, "--glance-url", Glance.Url, "--datastore", "mysql", "--datastore-version", "8.0");
        code.Should().Be(ImageCli.Failed);
        stderr.Should().Contain($"image file {missing} not found");
    }

    [Fact]
    public async Task A_glance_nobody_listens_on_is_named_in_the_error()
    {
        var image = await MakeQcow2Async("unreachable");
        var url = $"http://127.0.0.1:{FreePorts.Find()}";
        var (code, _, stderr) = await RegisterAsync(image, "--glance-url", url, "--datastore", "mysql", "--datastore-version", "8.0");
        code.Should().Be(ImageCli.Failed);
        stderr.Should().Contain($"cannot reach Glance at {url}:").And.Contain("refused");
    }

    [Fact]
    public async Task A_request_glance_refuses_fails_with_glances_own_message()
    {
        var image = await MakeQcow2Async("refused");
        var (code, _, stderr) = await RegisterAsync(image, "--glance-url", Glance.Url, "--datastore", "mysql", "--datastore-version", "8.0",
            "--no-trove-manage", "--name", new string('n', 300));
        code.Should().Be(ImageCli.Failed);
        stderr.Should().Contain($"Glance at {Glance.Url} refused POST /v2/images: 400 Bad Request: Provided object does not match schema 'image'")
            .And.Contain("is too long").And.NotContain("<br");
        (await ImagesWithHashAsync(Sha256(image))).Should().BeEmpty();
    }

    [Fact]
    public async Task Usage_errors_exit_64()
    {
        (await RegisterAsync("x.qcow2", "--datastore", "mysql", "--datastore-version", "8.0")).Code.Should().Be(ImageCli.Usage, "--glance-url is required");
        var (code, _, stderr) = await RegisterAsync("x.qcow2", "--glance-url", Glance.Url, "--datastore", "my,sql", "--datastore-version", "8.0");
        code.Should().Be(ImageCli.Usage);
        stderr.Should().Contain("comma");
    }

    [Fact]
    public async Task A_trove_manage_error_fails_the_registration_with_trove_manages_words_and_keeps_the_old_default()
    {
        // A version named 10.11 that is version number 10.11.6: registering name 10.11 (number 10.11) adds a second row
        // of that name, and trove-manage then cannot tell which one "datastore_update mariadb 10.11" means.
        var trove = fixture.TroveDirectory;
        (await TroveManageAsync(trove, "datastore_update", "mariadb", "")).Should().Contain("Datastore 'mariadb' updated.");
        (await TroveManageAsync(trove, "datastore_version_update", "mariadb", "10.11", "mariadb", "", "", "1", "--version", "10.11.6")).Should().Contain("updated.");
        (await TroveManageAsync(trove, "datastore_update", "mariadb", "10.11")).Should().Contain("Datastore 'mariadb' updated.");
        var image = await MakeQcow2Async("conflict");

        var (code, stdout, stderr) = await RegisterAsync(image, "--glance-url", Glance.Url, "--datastore", "mariadb", "--datastore-version", "10.11",
            "--trove-manage", TroveManage(trove));

        code.Should().Be(ImageCli.Failed, stdout);
        stderr.Should().Contain("trove-manage datastore_update mariadb 10.11 failed: Command failed, please check log for more info. (exit code 1)");
        (await File.ReadAllTextAsync(Path.Combine(trove, "log", "trove-manage.log"))).Should().Contain("Multiple datastore versions found for '10.11'");
        (await SqliteAsync(trove, "select v.version from datastores d join datastore_versions v on v.id = d.default_version_id where d.name = 'mariadb'"))
            .Should().Be("10.11.6", "the failed run did not clear the datastore's default version on the way");

        // trove-manage's other kind of failure: an error printed, and exit code 0.
        var notFound = await TroveManageAsync(trove, "datastore_update", "mariadb", "9.9");
        notFound.Should().Contain("Datastore version '9.9' cannot be found.");
        Registration.TroveManage.Failure(0, notFound).Should().Contain("cannot be found");
        Registration.TroveManage.Failure(0, "Datastore 'mariadb' updated.").Should().BeNull();
    }

    /// <summary>Sees each line the command writes, as it is written.</summary>
    private sealed class CallbackWriter(Action<string> onLine) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            onLine(value ?? "");
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }
    }
}
