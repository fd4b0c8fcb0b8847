using System.CommandLine;
using Trove.Guest.Cli.Api;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// The instance argument and options of the commands that reach a qemu guest (<c>ssh</c>, <c>log-fetch</c>), and how they
/// find its files: the instance through the API (a name or id becomes the id, as every verb does), or its id as given
/// with <c>--no-api</c>; then its server's directory under the qemu driver's root.
/// </summary>
internal sealed class GuestOptions
{
    public const string QemuRootVariable = "TROVE_GUEST_QEMU_ROOT";
    public const string DefaultQemuRoot = "/var/lib/trove-guest/qemu";

    public Argument<string> Instance { get; } = InstanceCommands.Instance();

    public Option<string?> QemuRoot { get; } = new("--qemu-root")
    {
        Description = $"the qemu compute driver's root directory (default: env[{QemuRootVariable}], else {DefaultQemuRoot})",
    };

    public Option<bool> NoApi { get; } = new("--no-api")
    {
        Description = "INSTANCE is the instance's full id: find its files without asking the API (no credentials needed)",
    };

    public Option<double> ConnectTimeout { get; } = new("--connect-timeout")
    {
        Description = "seconds to keep trying while the guest's SSH server does not answer yet (it boots)", DefaultValueFactory = _ => 30,
        Validators = { r => { if (r.GetValueOrDefault<double>() <= 0) r.AddError("--connect-timeout must be positive"); } },
    };

    /// <summary>The instance's qemu server: its id resolved, its directory checked to exist.</summary>
    public async Task<QemuGuestFiles> FindAsync(ParseResult parse, ApiCommandBuilder build, CancellationToken ct)
    {
        var given = parse.GetValue(Instance)!;
        string id;
        if (parse.GetValue(NoApi))
        {
            if (!Guid.TryParse(given, out _)) throw new CliFailure(ExitCodes.Usage, $"--no-api needs the instance's full id, not '{given}'");
            id = given;
        }
        else
        {
            using var api = await build.LoginAsync(parse, ct).ConfigureAwait(false);
            id = ResourceFinder.Id(await new ResourceFinder(api).InstanceAsync(given, ct).ConfigureAwait(false));
        }
        var root = parse.GetValue(QemuRoot) ?? (build.Io.Variable(QemuRootVariable) is { Length: > 0 } variable ? variable : DefaultQemuRoot);
        var layout = QemuServerLayout.Of(root, id);
        if (!Directory.Exists(layout.Directory))
            throw new CliFailure(ExitCodes.NoGuest, $"ERROR: instance {id} has no qemu server under {Path.GetFullPath(root)} ({layout.Directory} does not exist): "
                + $"it is not on the qemu compute driver, or the driver's root is another one (--qemu-root, env[{QemuRootVariable}])");
        return new QemuGuestFiles(id, root, layout);
    }

    public DateTimeOffset ConnectBy(ParseResult parse) => DateTimeOffset.UtcNow + TimeSpan.FromSeconds(parse.GetValue(ConnectTimeout));
}
