using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Testing;

/// <summary>
/// A private PostgreSQL cluster on loopback: <c>initdb</c> into a temporary directory (as the postgres user, which
/// initdb insists on), <c>pg_ctl start</c> on a free port with its socket in that directory, trust authentication for
/// 127.0.0.1 only. Stopped with <c>pg_ctl stop</c>, which signals the PID in the cluster's own postmaster.pid.
/// </summary>
public sealed class PostgresService : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";

    private PostgresService(string directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }
    public int Port { get; }

    /// <summary>A connection string for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=false";

    public static async Task<PostgresService> StartAsync()
    {
        var port = FreePorts.Find();
        var dir = System.IO.Directory.CreateTempSubdirectory("trove-guest-pg-").FullName;
        await RunAsync("chown", ["postgres:postgres", dir]);
        var data = Path.Combine(dir, "data");
        await AsPostgresAsync($"{Bin}/initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        await AsPostgresAsync($"{Bin}/pg_ctl", ["-D", data, "-l", Path.Combine(dir, "postgres.log"), "-w", "-t", "60",
            "-o", $"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]);
        return new PostgresService(dir, port);
    }

    /// <summary>Creates an empty database, so that each test has its own.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await AsPostgresAsync($"{Bin}/createdb", ["-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), name]);
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        await Cli.Wrap("runuser").WithArguments(["-u", "postgres", "--", $"{Bin}/pg_ctl", "-D", Path.Combine(Directory, "data"), "-m", "fast", "-w", "stop"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Task AsPostgresAsync(string tool, IReadOnlyList<string> arguments) => RunAsync("runuser", ["-u", "postgres", "--", tool, .. arguments]);

    private static async Task RunAsync(string tool, IReadOnlyList<string> arguments)
    {
        var result = await Cli.Wrap(tool).WithArguments(arguments).WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.StandardOutput}\n{result.StandardError}");
    }
}
