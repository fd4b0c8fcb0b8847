using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.Agent.IO;

namespace Trove.Guest.Agent.Tests.Unit;

/// <summary>The agent's in-process <c>chown -R USER:</c>: the user's uid and primary group, links changed and never followed.</summary>
public sealed class FileOwnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // stat without -L: a link's own owner.
    private static async Task<string> OwnerAsync(string path) =>
        (await Cli.Wrap("stat").WithArguments(["-c", "%u:%g", path]).ExecuteBufferedAsync()).StandardOutput.Trim();

    [Fact]
    public async Task A_tree_goes_to_the_user_and_its_group_without_following_links()
    {
        var nobody = (await Cli.Wrap("id").WithArguments(["-u", "nobody"]).ExecuteBufferedAsync()).StandardOutput.Trim()
            + ":" + (await Cli.Wrap("id").WithArguments(["-g", "nobody"]).ExecuteBufferedAsync()).StandardOutput.Trim();
        var tree = Directory.CreateDirectory(Path.Combine(_dir, "data")).FullName;
        Directory.CreateDirectory(Path.Combine(tree, "mysql", "deep"));
        await File.WriteAllTextAsync(Path.Combine(tree, "mysql", "deep", "t.ibd"), "x");
        await File.WriteAllTextAsync(Path.Combine(tree, ".hidden"), "x");
        var outside = Path.Combine(_dir, "outside");
        await File.WriteAllTextAsync(outside, "x");
        Directory.CreateDirectory(Path.Combine(_dir, "outside-dir"));
        File.CreateSymbolicLink(Path.Combine(tree, "link"), outside);
        Directory.CreateSymbolicLink(Path.Combine(tree, "dirlink"), Path.Combine(_dir, "outside-dir"));

        FileOwner.Set(tree, "nobody", recursive: true);

        foreach (var path in new[] { tree, Path.Combine(tree, "mysql"), Path.Combine(tree, "mysql", "deep", "t.ibd"), Path.Combine(tree, ".hidden") })
            (await OwnerAsync(path)).Should().Be(nobody, path);
        (await OwnerAsync(Path.Combine(tree, "link"))).Should().Be(nobody, "the link itself is changed");
        (await OwnerAsync(outside)).Should().Be("0:0", "a link is never followed out of the tree");
        (await OwnerAsync(Path.Combine(_dir, "outside-dir"))).Should().Be("0:0", "nor a link to a directory");
    }

    [Fact]
    public async Task One_path_and_an_unknown_user()
    {
        var file = Path.Combine(_dir, "init.sql");
        await File.WriteAllTextAsync(file, "x");
        FileOwner.Set(file, "nobody");
        (await OwnerAsync(file)).Should().NotBe("0:0");
        FluentActions.Invoking(() => FileOwner.Set(file, "no-such-user-here")).Should().Throw<InvalidOperationException>().WithMessage("*no user named 'no-such-user-here'*");
    }
}
