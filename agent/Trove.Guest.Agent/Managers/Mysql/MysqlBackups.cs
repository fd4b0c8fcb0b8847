using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Backups;
using Trove.Guest.Agent.Backups.Storage;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.IO;
using Trove.Guest.Agent.Volumes;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// Backups and restores of the MySQL family (guest-contract §6): the hot-backup tool's xbstream, compressed and
/// optionally encrypted, streamed into the object store without touching the local disk, reported to the conductor;
/// and restores of a full backup or an incremental chain into a staging directory that only becomes the datadir
/// once every step succeeded.
/// </summary>
public sealed class MysqlBackups(AgentOptions options, ConductorClient conductor, bool mariaDb, ILogger<MysqlBackups> logger)
{
    private readonly XtraBackupTool _tool = XtraBackupTool.For(mariaDb);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    private string WorkRoot => Path.Combine(options.Guest.StateDir, "backups");
    private string DataDir => Path.Combine(options.Datastore.MountPoint, "data");
    private string OsAdminCnf => Path.Combine(options.Datastore.MountPoint, "conf.d", "os_admin.cnf");

    // ---- backup -------------------------------------------------------------------------------------------------

    /// <summary>
    /// create_backup: BUILDING, SAVING, then COMPLETED with checksum and location, or FAILED with the reason.
    /// <paramref name="ensureRunning"/> waits for a server that is still starting and refuses a stopped one.
    /// </summary>
    public async Task CreateAsync(BackupRequest request, JsonObject context, Func<CancellationToken, Task> ensureRunning, CancellationToken ct)
    {
        var work = Path.Combine(WorkRoot, request.Id);
        var volumeUsed = FilesystemStats.For(options.Datastore.MountPoint)["used"]!.GetValue<double>();
        await conductor.UpdateBackupAsync(request.Id, new JsonObject
        {
            ["size"] = volumeUsed, ["state"] = "BUILDING", ["backup_type"] = request.BackupType,
        }, ct).ConfigureAwait(false);
        try
        {
            await ensureRunning(ct).ConfigureAwait(false);
            if (!File.Exists(OsAdminCnf)) throw new InvalidOperationException("the database has not been prepared (no os_admin credentials)");
            var storage = BackupStorageFactory.For(options, context, logger);
            var metadata = new Dictionary<string, string>
            {
                ["datastore"] = request.Datastore ?? options.DatastoreManager,
                ["datastore_version"] = request.DatastoreVersion ?? options.DatastoreVersion ?? "",
            };
            string? lsn = null;
            if (request.Parent is { } parent)
            {
                var stat = await storage.StatAsync(parent.Location, ct).ConfigureAwait(false);
                if (!string.Equals(stat.Checksum, parent.Checksum, StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"the parent backup's checksum is {stat.Checksum}, not {parent.Checksum}");
                lsn = stat.Lsn ?? throw new InvalidDataException($"the parent backup {parent.Location} records no lsn");
                metadata["parent_location"] = parent.Location;
                metadata["parent_checksum"] = parent.Checksum;
            }
            Directory.CreateDirectory(work, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await File.WriteAllTextAsync(Path.Combine(work, "container"), ContainerFor(request), ct).ConfigureAwait(false);
            await conductor.UpdateBackupAsync(request.Id, new JsonObject
            {
                ["size"] = volumeUsed, ["state"] = "SAVING", ["backup_type"] = request.BackupType,
            }, ct).ConfigureAwait(false);

            var stored = await StreamBackupAsync(request, storage, work, lsn, metadata, ct).ConfigureAwait(false);
            await conductor.UpdateBackupAsync(request.Id, new JsonObject
            {
                ["size"] = FilesystemStats.ToGb((ulong)stored.Size), ["state"] = "COMPLETED", ["backup_type"] = request.BackupType,
                ["checksum"] = stored.Checksum, ["location"] = stored.Location, ["success"] = true,
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var reason = e is OperationCanceledException ? "the backup was interrupted (agent stopping)" : e.Message;
            logger.LogError("Backup {BackupId} failed: {Reason}", request.Id, reason);
            await ReportFailedAsync(request.Id, request.BackupType, reason).ConfigureAwait(false);
            throw e is RpcFailureException ? e : new RpcFailureException("BackupCreationError", "trove.common.exception", $"backup {request.Id} failed: {reason}");
        }
        finally
        {
            Tools.TryDeleteDirectory(work);
        }
    }

    /// <summary>Zed's per-backup <c>swift_container</c> applies to Swift; otherwise the store's default container or bucket.</summary>
    private string ContainerFor(BackupRequest request) =>
        options.Backup.Storage == BackupStorageKind.Swift && request.SwiftContainer is { Length: > 0 } c ? c : options.Backup.DefaultContainer;

    private async Task ReportFailedAsync(string backupId, string backupType, string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await conductor.UpdateBackupAsync(backupId, new JsonObject
            {
                ["state"] = "FAILED", ["success"] = false, ["backup_type"] = backupType, ["note"] = reason,
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogWarning("Could not report backup {BackupId} as failed: {Error}", backupId, e.Message);
        }
    }

    /// <summary>
    /// tool | compressor → (encryption) → object store. The store reads what the compressor writes through a bounded
    /// pipe; the backup becomes visible only if the tool then reports success.
    /// </summary>
    private async Task<StoredBackup> StreamBackupAsync(BackupRequest request, IBackupStorage storage, string work, string? lsn,
        Dictionary<string, string> metadata, CancellationToken ct)
    {
        var format = BackupFormat.From(options.Backup);
        var objectName = format.ObjectName(request.Id);
        var log = Path.Combine(work, "backup.log");
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 16 << 20, resumeWriterThreshold: 8 << 20, useSynchronizationContext: false));
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // tool | compressor over a kernel pipe; the agent reads the compressed stream only.
        var (compressor, compressorArgs) = format.Compressor(options.Backup);
        var compressorErrors = new StringBuilder();
        var pipeline = ShellPipeline.Create(_tool.Binary,
                _tool.BackupArguments(OsAdminCnf, options.Guest.EngineSocket, DataDir, work, options.Backup.Parallel, lsn),
                compressor, compressorArgs, firstStderrFile: log)
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(compressorErrors))
            .WithValidation(CommandResultValidation.None);
        logger.LogInformation("Backup {BackupId} ({Type}) started: {Tool} | {Compressor} into {Object}", request.Id, request.BackupType,
            Path.GetFileName(_tool.Binary), Path.GetFileName(compressor), objectName);

        var produce = ProduceAsync();
        async Task<CommandResult> ProduceAsync()
        {
            try
            {
                var result = await (pipeline | PipeTarget.ToStream(pipe.Writer.AsStream(leaveOpen: true))).ExecuteAsync(abort.Token).ConfigureAwait(false);
                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                return result;
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
        }

        async Task<IReadOnlyDictionary<string, string>> CompleteAsync(CancellationToken token)
        {
            var result = await produce.WaitAsync(token).ConfigureAwait(false);
            if (!XtraBackupTool.Succeeded(log))
                throw new InvalidOperationException($"{Path.GetFileName(_tool.Binary)} failed: {LogTail(log)}");
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"the compressor failed (exit {result.ExitCode}): {compressorErrors.ToString().Trim()}");
            metadata["lsn"] = XtraBackupTool.ReadToLsn(work);
            return metadata;
        }

        var progress = new ProgressStream(pipe.Reader.AsStream(), ProgressInterval, (bytes, elapsed) =>
            logger.LogInformation("Backup {BackupId}: {MegaBytes} MB stored, {Rate} MB/s", request.Id, bytes >> 20, Math.Round(bytes / 1048576.0 / elapsed.TotalSeconds, 1)));
        try
        {
            var stored = await storage.SaveAsync(ContainerFor(request), objectName,
                format.Encrypt(progress, options.Backup), CompleteAsync, abort.Token).ConfigureAwait(false);
            logger.LogInformation("Backup {BackupId} completed: {MegaBytes} MB at {Location} in {Seconds} s ({Rate} MB/s compressed)", request.Id,
                stored.Size >> 20, stored.Location, Math.Round(progress.Elapsed.TotalSeconds, 1), Math.Round(progress.Count / 1048576.0 / progress.Elapsed.TotalSeconds, 1));
            return stored;
        }
        catch
        {
            // Stop the tool and the compressor (the database is only read; mariabackup's locks end with its connection).
            await abort.CancelAsync().ConfigureAwait(false);
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
            try
            {
                await produce.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The failure that matters is the one being rethrown.
            }
            if (compressorErrors.Length > 0) logger.LogWarning("Compressor said: {Errors}", compressorErrors.ToString().Trim());
            throw;
        }
    }

    /// <summary>Backups the agent was running when it died (SIGKILL, power loss): reported failed, their work files removed.</summary>
    public async Task FailInterruptedAsync(CancellationToken ct)
    {
        if (!Directory.Exists(WorkRoot)) return;
        foreach (var work in Directory.GetDirectories(WorkRoot))
        {
            var id = Path.GetFileName(work);
            var container = File.Exists(Path.Combine(work, "container")) ? await File.ReadAllTextAsync(Path.Combine(work, "container"), ct).ConfigureAwait(false) : "?";
            logger.LogWarning("Backup {BackupId} was interrupted by an agent restart; reporting it failed. Orphaned segments {Container}/{BackupId}_* may remain",
                id, container, id);
            await ReportFailedAsync(id, "full", "the guest agent restarted during the backup").ConfigureAwait(false);
            Tools.TryDeleteDirectory(work);
        }
    }

    // ---- restore ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Restores a backup (and, for an incremental, its whole chain, oldest first) into <c>&lt;datadir&gt;.restoring</c>:
    /// every checksum verified, decrypted, decompressed, extracted, prepared level by level; then it replaces the
    /// datadir. On any failure the staging directory is removed and the datadir is left as it was.
    /// </summary>
    public async Task RestoreAsync(RestoreRequest request, JsonObject context, CancellationToken ct)
    {
        var storage = BackupStorageFactory.ForLocation(request.Location, options, context, logger);
        var chain = await ResolveChainAsync(storage, request, ct).ConfigureAwait(false);
        logger.LogInformation("Restoring backup {BackupId}: a chain of {Count} ({Locations})", request.Id, chain.Count, string.Join(" <- ", chain.Select(c => c.Location)));
        var staging = DataDir + ".restoring";
        Tools.TryDeleteDirectory(staging);
        Directory.CreateDirectory(staging);
        var incrementalDirs = new List<string>();
        try
        {
            for (var i = 0; i < chain.Count; i++)
            {
                var target = i == 0 ? staging : Path.Combine(options.Datastore.MountPoint, "restore-" + chain[i].Checksum);
                if (i > 0)
                {
                    Tools.TryDeleteDirectory(target);
                    Directory.CreateDirectory(target);
                    incrementalDirs.Add(target);
                }
                await ExtractAsync(storage, chain[i], target, ct).ConfigureAwait(false);
                await PrepareAsync(staging, i == 0 ? null : target, final: i == chain.Count - 1, ct).ConfigureAwait(false);
                if (i > 0) Tools.TryDeleteDirectory(target);
            }
            if (options.Guest.EngineUser != "root") FileOwner.Set(staging, options.Guest.EngineUser, recursive: true);
            Tools.TryDeleteDirectory(DataDir);
            Directory.Move(staging, DataDir);
            logger.LogInformation("Backup {BackupId} restored into {DataDir}", request.Id, DataDir);
        }
        catch
        {
            Tools.TryDeleteDirectory(staging);
            foreach (var dir in incrementalDirs) Tools.TryDeleteDirectory(dir);
            throw;
        }
    }

    private async Task<List<BackupObject>> ResolveChainAsync(IBackupStorage storage, RestoreRequest request, CancellationToken ct)
    {
        var chain = new List<BackupObject>();
        var location = request.Location;
        var expected = request.Checksum;
        while (true)
        {
            var stat = await storage.StatAsync(location, ct).ConfigureAwait(false);
            if (expected is not null && !string.Equals(stat.Checksum, expected, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"checksum mismatch for {location}: expected {expected}, stored {stat.Checksum}");
            chain.Insert(0, stat with { Checksum = stat.Checksum.ToLowerInvariant() });
            if (stat.ParentLocation is not { Length: > 0 } parent) return chain;
            // A parent must live next to its child: metadata cannot send the restore to another container.
            if (!SameContainer(parent, location))
                throw new BackupLocationException($"the parent {parent} of {location} is not in the same container");
            if (chain.Count > 1000 || chain.Any(c => c.Location == parent))
                throw new InvalidDataException($"the backup chain of {request.Location} loops or is too long");
            location = parent;
            expected = stat.ParentChecksum;
        }
    }

    private static bool SameContainer(string a, string b) =>
        string.Equals(a[..Math.Max(0, a.LastIndexOf('/'))], b[..Math.Max(0, b.LastIndexOf('/'))], StringComparison.Ordinal);

    /// <summary>store → (decryption) → decompressor → extractor (-x -C dir).</summary>
    private async Task ExtractAsync(IBackupStorage storage, BackupObject backup, string directory, CancellationToken ct)
    {
        var format = BackupFormat.FromObjectName(Uri.UnescapeDataString(backup.Location[(backup.Location.LastIndexOf('/') + 1)..]));
        await using var stored = await storage.OpenReadAsync(backup.Location, backup.Checksum, ct).ConfigureAwait(false);
        var progress = new ProgressStream(stored, ProgressInterval, (bytes, elapsed) =>
            logger.LogInformation("Restore: {MegaBytes} MB of {Location} read, {Rate} MB/s", bytes >> 20, backup.Location, Math.Round(bytes / 1048576.0 / elapsed.TotalSeconds, 1)));
        await using var plain = await format.DecryptAsync(progress, options.Backup, ct).ConfigureAwait(false);
        var errors = new StringBuilder();
        var (decompressor, decompressorArgs) = format.Decompressor();
        var result = await (PipeSource.FromStream(plain) | ShellPipeline.Create(decompressor, decompressorArgs, _tool.Extractor, _tool.ExtractArguments(directory))
                .WithStandardErrorPipe(PipeTarget.ToStringBuilder(errors)).WithValidation(CommandResultValidation.None))
            .ExecuteAsync(ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
            throw new InvalidDataException($"extracting {backup.Location} failed (exit {result.ExitCode}): {errors.ToString().Trim()}");
        logger.LogInformation("Extracted {Location}: {MegaBytes} MB in {Seconds} s", backup.Location, progress.Count >> 20, Math.Round(progress.Elapsed.TotalSeconds, 1));
    }

    private async Task PrepareAsync(string target, string? incrementalDir, bool final, CancellationToken ct)
    {
        var result = await Cli.Wrap(_tool.Binary).WithArguments(_tool.PrepareArguments(target, incrementalDir, final, options.Backup.PrepareMemory))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct).ConfigureAwait(false);
        var lastLine = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        if (result.ExitCode != 0 || !lastLine.Contains("completed OK!", StringComparison.Ordinal))
            throw new InvalidOperationException($"{Path.GetFileName(_tool.Binary)} --prepare failed ({result.ExitCode}): {Tools.ErrorSummary(result.StandardError)}");
    }

    private static string LogTail(string log) => File.Exists(log) ? Tools.ErrorSummary(File.ReadAllText(log)) : "(no log)";
}
