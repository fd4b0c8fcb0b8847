using FluentAssertions;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Controller.Tests.Compute.Qemu;

/// <summary>
/// <see cref="ConsoleHostKeys"/> on console logs as a qemu guest's serial port writes them: kernel timestamps, cloud-init's
/// syslog-style and <c>ci-info:</c> prefixes, CRLF and stray CRs, the fingerprints block next to the keys block, several
/// boots appended, a block cut short by a reset, and malformed key lines (cut, interrupted, mislabelled, not base64).
/// </summary>
public sealed class ConsoleHostKeysTests
{
    // Real keys (ssh-keygen), public halves only.
    private const string Ed25519A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEev1tDFwvhE1swVTh/1GtVGMx8YD5qBVV0dwvCkL9kj";
    private const string Ed25519B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDdBFPx4JfzfvS2gwk/Z2Tz6b0h6K3Rlm5nKpYz6jdza";
    private const string Rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCKkZjJLKvmAzpm/twvV9ds2f/CExoCEbGd3YNL4cWucAE76qUkuZ3nfXnMnTBgyGbzAd+/cr8kJfSVjIPu8xy0N2BP3/go8oie5M8+yfDvN521CNCMrUzv8oUo+yN2pjOG7KFEMvRSWdUJLRbVsP2yukYzitJg061otjqy2TmWAe6GTWuhxt+knT4eJ65qb1Z+gUPMbSeYlvUzEOAQxZkwTJwchxkZA/ruI+DohxRxm4W1HCZgFcZr1852ho3CPzsEzB0Zhi/Y4up1pc5lR2+bI+hwg5O+qwA+3KeyQBO3BUhnOXbcp2TMbn7oBsS5nDHDoE+T77prsuYVpt0ekPpn";
    private const string Ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCfmZmRPVlcp+gaOz7miV0lDPst86Aht3S77zLTJ6/Mb12zEJkgbYx1Fo/9P7tqE3wQWreNInG/0ceLj+SEWhM0=";

    /// <summary>One boot as a Debian cloud image prints it on ttyS0, CRLF line ends, printing <paramref name="keys"/>.</summary>
    private static string Boot(params string[] keys) => string.Join("\r\n",
    [
        "[    0.000000] Linux version 6.1.0-28-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
        "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-cloud-amd64 root=UUID=1c5a7f02 ro console=tty0 console=ttyS0,115200",
        "[    2.345678] EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.",
        "[   10.123456] cloud-init[512]: Cloud-init v. 22.4.2 running 'init' at Wed, 27 Nov 2026 20:00:00 +0000. Up 10.01 seconds.",
        "[   10.200000] cloud-init[512]: ci-info: ++++++++++++++++++++++++++++++++++++++Net device info+++++++++++++++++++++++++++++++++++++++",
        "[   10.200001] cloud-init[512]: ci-info: | Device |  Up  |  Address  |    Mask   | Scope | Hw-Address        |",
        "<14>Nov 27 20:00:05 cloud-init: #############################################################",
        "<14>Nov 27 20:00:05 cloud-init: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
        "<14>Nov 27 20:00:05 cloud-init: 256 SHA256:kDcJYfUMawhU9QPcgNvaSlJRGJEegHwX9iKt17/f5Mw root@db1 (ED25519)",
        "<14>Nov 27 20:00:05 cloud-init: -----END SSH HOST KEY FINGERPRINTS-----",
        "<14>Nov 27 20:00:05 cloud-init: #############################################################",
        "-----BEGIN SSH HOST KEY KEYS-----",
        .. keys.Select((k, i) => (i % 3) switch
        {
            0 => $"{k} root@db1",
            1 => $"[   12.345678] {k} root@db1\r",
            _ => $"ci-info: {k} root@db1",
        }),
        "-----END SSH HOST KEY KEYS-----",
        "[   15.000000] cloud-init[600]: Cloud-init v. 22.4.2 finished at Wed, 27 Nov 2026 20:00:05 +0000. Datasource DataSourceConfigDrive [net,ver=2][source=/dev/sr0].  Up 15.00 seconds",
        "",
        "Debian GNU/Linux 12 db1 ttyS0",
        "",
        "db1 login: ",
    ]);

    [Fact]
    public void The_keys_of_a_boot_come_back_as_openssh_lines_without_their_comments_in_the_order_printed()
    {
        ConsoleHostKeys.Last(Boot(Ecdsa, Ed25519A, Rsa)).Should().Equal(Ecdsa, Ed25519A, Rsa);
    }

    [Fact]
    public void Over_several_boots_the_last_complete_block_wins_and_first_gives_the_first_boot()
    {
        var log = Boot(Ed25519A, Rsa) + "\r\n[    0.000000] Linux version 6.1.0-28-cloud-amd64\r\n" + Boot(Ed25519B);

        ConsoleHostKeys.Last(log).Should().Equal(Ed25519B);
        ConsoleHostKeys.First(log).Should().Equal(Ed25519A, Rsa);
    }

    [Fact]
    public void A_block_cut_short_by_a_reset_does_not_count()
    {
        var cut = "-----BEGIN SSH HOST KEY KEYS-----\r\n" + Ed25519B + " root@db1\r\n[    0.000000] Linux version 6.1.0-28-cloud-amd64\r\n";

        ConsoleHostKeys.Last(Boot(Ed25519A) + "\r\n" + cut).Should().Equal([Ed25519A], "the last block never ended");
        ConsoleHostKeys.Last(cut + Boot(Rsa)).Should().Equal([Rsa], "a new begin starts over: the cut block's key is not carried into it");
    }

    [Fact]
    public void Markers_with_console_prefixes_and_noise_inside_the_block_are_read()
    {
        var log = string.Join("\n",
            "[   12.000001] cloud-init[700]: -----BEGIN SSH HOST KEY KEYS-----\r\r",
            "[   12.000002] random: crng init done",
            $"[   12.000003] cloud-init[700]: {Ed25519A} root@db1",
            "[   12.000004] cloud-init[700]: -----END SSH HOST KEY KEYS-----\r");

        ConsoleHostKeys.Last(log).Should().Equal(Ed25519A);
    }

    [Fact]
    public void Malformed_key_lines_are_left_out()
    {
        var rsaBlob = Rsa.Split(' ')[1];
        var edBlob = Ed25519A.Split(' ')[1];
        var log = Boot(
            Ed25519B,
            $"ssh-rsa {rsaBlob[..120]}",                               // cut: still base64, but the blob's lengths do not add up
            $"ssh-rsa {rsaBlob[..60]}[   12.5] random: crng init done", // interrupted by a kernel message
            $"ssh-rsa {edBlob}",                                      // an ed25519 blob labelled RSA
            "ssh-ed25519 AAAA!!notbase64",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEev1tDFwvhE1swVTh/1GtVGMx8YD5qBVV0dwvCkL9k", // one character short
            $"ssh-dss {edBlob}",                                      // not a host key type sshd has
            $"xssh-ed25519 {edBlob}",                                 // the type glued to something before it
            Ecdsa);

        ConsoleHostKeys.Last(log).Should().Equal(Ed25519B, Ecdsa);
    }

    [Fact]
    public void A_block_without_a_valid_key_does_not_replace_an_earlier_one()
    {
        var log = Boot(Ed25519A) + "\r\n" + Boot("ssh-ed25519 garbage", "ssh-rsa AAAA");

        ConsoleHostKeys.Last(log).Should().Equal(Ed25519A);
        ConsoleHostKeys.Blocks(log).Should().HaveCount(1);
    }

    [Fact]
    public void No_block_and_repeated_keys()
    {
        ConsoleHostKeys.Last("[    0.000000] Linux version 6.1.0\r\ndb1 login: ").Should().BeEmpty();
        ConsoleHostKeys.First("").Should().BeEmpty();
        ConsoleHostKeys.Last(Boot(Ed25519A, Ed25519A, Rsa)).Should().Equal(Ed25519A, Rsa);
    }

    [Fact]
    public void The_console_file_is_read_while_qemu_holds_it_open_for_appending()
    {
        var file = Path.Combine(Path.GetTempPath(), "console-" + Guid.NewGuid().ToString("N") + ".log");
        try
        {
            using var qemu = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.Read);
            var bytes = System.Text.Encoding.UTF8.GetBytes(Boot(Ed25519A, Rsa));
            qemu.Write(bytes);
            qemu.Flush();

            ConsoleHostKeys.LastInFile(file).Should().Equal(Ed25519A, Rsa);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_pinned_line_parses_with_its_comment_and_has_openssh_fingerprint()
    {
        var key = SshHostKey.Parse(Ed25519A + " root@db1");

        key.Type.Should().Be("ssh-ed25519");
        key.OpenSshLine.Should().Be(Ed25519A);
        key.Fingerprint.Should().Be("SHA256:kDcJYfUMawhU9QPcgNvaSlJRGJEegHwX9iKt17/f5Mw", "ssh-keygen -l printed this for the key");
        key.SameKeyAs(SshHostKey.Parse(Ed25519A)).Should().BeTrue();
        key.SameKeyAs(SshHostKey.Parse(Ed25519B)).Should().BeFalse();
        var mislabelled = () => SshHostKey.Parse("ssh-rsa " + Ed25519A.Split(' ')[1]);
        mislabelled.Should().Throw<FormatException>();
    }
}
