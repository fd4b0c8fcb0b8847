using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// A flavor's memory as a memory cgroup around the agent (and so around its engine and tools, which inherit it):
/// cgroup v2 (<c>memory.max</c>) where the unified hierarchy has the memory controller, else cgroup v1
/// (<c>memory.limit_in_bytes</c>) where a v1 memory hierarchy is mounted and we may make groups in it. Where neither
/// works, limits are not enforced: that is logged once, and the memory still sizes the engine through prepare.
/// </summary>
internal sealed class MemoryCgroups(string? configuredParent, ILogger logger)
{
    private const string UnifiedRoot = "/sys/fs/cgroup";
    private readonly Lock _lock = new();
    private (string? Parent, int Version)? _detected;
    private int _warned;

    /// <summary>
    /// The group's limit for a flavor of <paramref name="ramMb"/>. A VM's RAM holds its kernel as well; our group holds
    /// the engine (sized by the template for at least 256 MB, which it uses for smaller flavors too), the agent (a
    /// JIT-compiled debug build takes 50-90 MB) and its tools. 128 MiB above the engine's share covers the agent and
    /// keeps a small flavor from being killed for the agent's own memory, while the limit still moves with the flavor.
    /// </summary>
    public static long LimitBytes(int ramMb) => (Math.Max(ramMb, 256) + 128L) << 20;

    /// <summary>Makes (or finds) the group <paramref name="name"/> with the flavor's limit; null when limits are not enforced here.</summary>
    public string? Create(string name, int ramMb)
    {
        var (parent, version) = Detect();
        if (parent is null) return null;
        var group = Path.Combine(parent, name);
        try
        {
            Directory.CreateDirectory(group);
            SetLimit(group, ramMb);
            return group;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                Directory.Delete(group);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
            }
            WarnOnce($"cannot make the memory cgroup {group} (v{version}): {e.Message}");
            return null;
        }
    }

    public static void SetLimit(string group, int ramMb)
    {
        var bytes = LimitBytes(ramMb).ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(group, File.Exists(Path.Combine(group, "memory.max")) ? "memory.max" : "memory.limit_in_bytes"), bytes);
    }

    public static void Add(string group, int pid) =>
        File.WriteAllText(Path.Combine(group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>The processes in the group: all of them belong to the one server the group was made for.</summary>
    public static IReadOnlyList<int> Processes(string group)
    {
        try
        {
            return File.ReadAllLines(Path.Combine(group, "cgroup.procs"))
                .Select(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0).Where(p => p > 0).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// Removes the group, killing what is still in it first (a process of the server that neither the agent stopped nor
    /// an argument gave away); a group that is already gone is fine.
    /// </summary>
    public static async Task RemoveAsync(string group, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Processes(group) is { Count: > 0 } left)
        {
            if (DateTime.UtcNow > deadline) throw new ComputeDriverException($"processes {string.Join(", ", left)} of the memory cgroup {group} survived SIGKILL");
            foreach (var pid in left) HostProcesses.Signal(pid, HostProcesses.SigKill);
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
        TryRemove(group);
    }

    /// <summary>Removes an empty group; a group that is already gone is fine.</summary>
    public static void TryRemove(string group)
    {
        try
        {
            if (Directory.Exists(group)) Directory.Delete(group); // rmdir: a cgroup's files are not real files
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ComputeDriverException($"cannot remove the memory cgroup {group}: {e.Message}", e);
        }
    }

    private (string? Parent, int Version) Detect()
    {
        lock (_lock)
        {
            _detected ??= Find();
            return _detected.Value;
        }
    }

    private (string? Parent, int Version) Find()
    {
        var own = File.ReadAllLines("/proc/self/cgroup");
        if (File.Exists(Path.Combine(UnifiedRoot, "cgroup.controllers")))
        {
            if (!File.ReadAllText(Path.Combine(UnifiedRoot, "cgroup.controllers")).Split(' ', '\n').Contains("memory"))
                return Unsupported("the unified cgroup hierarchy has no memory controller");
            var path = configuredParent ?? own.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..] ?? "/";
            var parent = UnifiedRoot + path.TrimEnd('/');
            if (configuredParent is not null) TryCreate(parent);
            // v2 puts processes in leaves only: the parent hands memory down through its subtree_control, which works
            // for the root and for a delegated group without processes of its own (not for a busy controller's group).
            try
            {
                var subtree = Path.Combine(parent, "cgroup.subtree_control");
                if (!File.ReadAllText(subtree).Split(' ', '\n').Contains("memory")) File.WriteAllText(subtree, "+memory");
                return (parent, 2);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Unsupported($"cannot enable the memory controller below {parent} (cgroup v2; name an empty delegated group as the parent): {e.Message}");
            }
        }
        // cgroup v1: a hierarchy mounted with the memory controller (/sys/fs/cgroup/memory on hybrid systems).
        var mount = File.ReadLines("/proc/self/mounts").Select(l => l.Split(' '))
            .FirstOrDefault(f => f.Length > 3 && f[2] == "cgroup" && f[3].Split(',').Contains("memory"))?[1];
        if (mount is null) return Unsupported("no memory cgroup hierarchy is mounted");
        var ownV1 = configuredParent ?? own.Select(l => l.Split(':', 3)).FirstOrDefault(f => f.Length == 3 && f[1].Split(',').Contains("memory"))?[2] ?? "/";
        var v1Parent = mount + ownV1.TrimEnd('/');
        if (configuredParent is not null) TryCreate(v1Parent);
        if (!File.Exists(Path.Combine(v1Parent, "cgroup.procs"))) return Unsupported($"{v1Parent} is not a memory cgroup");
        return (v1Parent, 1);
    }

    /// <summary>A configured parent is made when missing; failing that, the checks after this say why it cannot be used.</summary>
    private static void TryCreate(string group)
    {
        try
        {
            Directory.CreateDirectory(group);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private (string?, int) Unsupported(string why)
    {
        WarnOnce(why);
        return (null, 0);
    }

    private void WarnOnce(string why)
    {
        if (Interlocked.Exchange(ref _warned, 1) == 1) return;
        logger.LogWarning("Flavor memory limits are not enforced on this host ({Reason}); the flavor's memory still sizes each engine", why);
    }
}
