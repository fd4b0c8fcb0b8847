using System.Globalization;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// The hot-backup tool of the MySQL family (guest-contract §6.2): <c>mariadb-backup</c>/<c>mbstream</c> for MariaDB,
/// <c>xtrabackup</c>/<c>xbstream</c> for MySQL. Same options, one code path; credentials come from a defaults file,
/// never from argv.
/// </summary>
public sealed record XtraBackupTool(string Binary, string Extractor, bool IsMariaBackup)
{
    public static XtraBackupTool For(bool mariaDb) => mariaDb
        ? new(FirstExisting("/usr/bin/mariadb-backup", "/usr/bin/mariabackup"), FirstExisting("/usr/bin/mbstream", "/usr/bin/mariadb-backup"), true)
        : new(FirstExisting("/usr/bin/xtrabackup"), FirstExisting("/usr/bin/xbstream"), false);

    private static string FirstExisting(params string[] candidates) => candidates.FirstOrDefault(File.Exists) ?? Path.GetFileName(candidates[0]);

    /// <summary><c>--backup --stream=xbstream</c>; <c>--extra-lsndir</c> keeps <c>xtrabackup_checkpoints</c> outside the stream for the LSN.</summary>
    public string[] BackupArguments(string credentialsFile, string socket, string dataDir, string lsnDir, int parallel, string? incrementalLsn)
    {
        List<string> args =
        [
            $"--defaults-extra-file={credentialsFile}", // must come first
            "--backup", "--stream=xbstream", $"--parallel={parallel.ToString(CultureInfo.InvariantCulture)}",
            $"--socket={socket}", $"--datadir={dataDir}", $"--extra-lsndir={lsnDir}", $"--target-dir={lsnDir}",
        ];
        if (incrementalLsn is not null) args.Add($"--incremental-lsn={incrementalLsn}");
        return [.. args];
    }

    public string[] ExtractArguments(string directory) => IsMariaBackup && Extractor.EndsWith("backup", StringComparison.Ordinal)
        ? ["--mbstream", "-x", "-C", directory]
        : ["-x", "-C", directory];

    /// <summary>
    /// <c>--prepare</c> of a full backup, or of an incremental onto it. xtrabackup keeps the base "redo only" until the
    /// last step (<c>--apply-log-only</c>); mariabackup 10.11 needs no such flag.
    /// </summary>
    public string[] PrepareArguments(string targetDir, string? incrementalDir, bool final, string useMemory)
    {
        List<string> args = ["--prepare", $"--target-dir={targetDir}", $"--use-memory={useMemory}"];
        if (incrementalDir is not null) args.Add($"--incremental-dir={incrementalDir}");
        if (!final && !IsMariaBackup) args.Add("--apply-log-only");
        return [.. args];
    }

    /// <summary>The tool's success line ends its log (Trove checks the same).</summary>
    public static bool Succeeded(string log) =>
        File.Exists(log) && File.ReadLines(log).LastOrDefault(l => l.Trim().Length > 0)?.Contains("completed OK!", StringComparison.Ordinal) == true;

    /// <summary><c>to_lsn</c> from <c>xtrabackup_checkpoints</c>: the LSN the next incremental starts from.</summary>
    public static string ReadToLsn(string lsnDir)
    {
        var file = Path.Combine(lsnDir, "xtrabackup_checkpoints");
        var line = File.Exists(file) ? File.ReadLines(file).FirstOrDefault(l => l.StartsWith("to_lsn", StringComparison.Ordinal)) : null;
        var value = line?.Split('=', 2)[1].Trim();
        return value is { Length: > 0 } && value.All(char.IsAsciiDigit) ? value : throw new InvalidDataException($"no to_lsn in {file}");
    }
}
