using FluentAssertions;
using Trove.Guest.Agent.Engines;

namespace Trove.Guest.Agent.Tests.Unit;

/// <summary>
/// Prepare's stop of a new guest's engine starts no systemctl when the unit is neither enabled nor running. The two
/// checks read the unit links and /proc that systemd and the kernel keep; here on trees laid out the same way (this
/// machine has no systemd, and its cgroups are not a unit's). The guest VM tests run them on the real ones.
/// </summary>
public sealed class SystemdUnitStateTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tgsu-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Dir(string relative) => Directory.CreateDirectory(Path.Combine(_root, relative)).FullName;

    [Fact]
    public void A_unit_is_enabled_by_a_link_in_any_target_wants_or_requires_folder_even_a_dangling_one()
    {
        var etc = Dir("etc");
        SystemdUnitEngine.IsEnabled("mariadb.service", etc).Should().BeFalse();
        File.CreateSymbolicLink(Path.Combine(Dir("etc/multi-user.target.wants"), "ssh.service"), "/lib/systemd/system/ssh.service");
        // A unit file of that name beside the targets (an override, an alias) does not enable it.
        File.WriteAllText(Path.Combine(etc, "mariadb.service"), "[Service]\n");
        SystemdUnitEngine.IsEnabled("mariadb.service", etc).Should().BeFalse();

        File.CreateSymbolicLink(Path.Combine(Dir("etc/multi-user.target.wants"), "mariadb.service"), "/nonexistent/mariadb.service");
        SystemdUnitEngine.IsEnabled("mariadb.service", etc).Should().BeTrue("disable would remove that link");

        var other = Dir("etc2");
        File.CreateSymbolicLink(Path.Combine(Dir("etc2/graphical.target.requires"), "mariadb.service"), "/lib/systemd/system/mariadb.service");
        SystemdUnitEngine.IsEnabled("mariadb.service", other).Should().BeTrue();
        SystemdUnitEngine.IsEnabled("mariadb.service", Path.Combine(_root, "missing")).Should().BeFalse();
    }

    [Theory]
    [InlineData("0::/system.slice/mariadb.service\n", true)]
    [InlineData("0::/system.slice/mariadb.service/payload\n", true)]
    [InlineData("0::/databases.slice/mariadb.service\n", true)]
    [InlineData("12:pids:/system.slice/mariadb.service\n1:name=systemd:/system.slice/mariadb.service\n0::/\n", true)]
    [InlineData("0::/system.slice/mariadb.service.d\n", false)]
    [InlineData("0::/system.slice/trove-guest-agent.service\n", false)]
    [InlineData("0::/system.slice/my-mariadb.service\n", false)]
    [InlineData("0::/\n", false)]
    public void A_unit_has_processes_when_a_process_cgroup_names_it(string cgroup, bool expected)
    {
        var proc = Dir("proc");
        File.WriteAllText(Path.Combine(Dir("proc/1"), "cgroup"), "0::/init.scope\n");
        File.WriteAllText(Path.Combine(Dir("proc/4242"), "cgroup"), cgroup);
        // Not processes: /proc/self and friends are skipped, whatever they hold.
        File.WriteAllText(Path.Combine(Dir("proc/self"), "cgroup"), "0::/system.slice/mariadb.service\n");
        Dir("proc/sys");

        SystemdUnitEngine.HasProcesses("mariadb.service", proc).Should().Be(expected);
    }

    [Fact]
    public void A_process_that_ends_while_it_is_read_is_passed_over()
    {
        var proc = Dir("proc");
        Dir("proc/77"); // its cgroup file has gone with it
        SystemdUnitEngine.HasProcesses("mariadb.service", proc).Should().BeFalse();
    }
}
