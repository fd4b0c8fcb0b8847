using System.Management.Automation.Language;
using System.Text.RegularExpressions;
using Trove.Guest.Testing;

namespace Trove.Guest.ImageBuilder.Tests.Redstack;

/// <summary>The repository's redstack.ps1: its path, its syntax tree and the commands its header documents.</summary>
public static partial class RedstackScript
{
    public static readonly string Path = System.IO.Path.Combine(RepoPaths.Root, "redstack.ps1");

    public static readonly string[] Datastores = ["mariadb", "mysql", "postgresql", "redis"];

    public static ScriptBlockAst Parse(out ParseError[] errors) => Parser.ParseFile(Path, out _, out errors);

    /// <summary>The usage block: the header comment after the shebang, without its "# ".</summary>
    public static IReadOnlyList<string> Usage() =>
        File.ReadLines(Path).Skip(1).TakeWhile(l => l.StartsWith('#')).Select(l => CommentMark().Replace(l, "")).ToList();

    /// <summary>The commands of the usage block's "./redstack.ps1 COMMAND ..." lines.</summary>
    public static IReadOnlyList<string> DocumentedCommands() =>
        Usage().Select(l => UsageLine().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();

    [GeneratedRegex("^# ?")]
    private static partial Regex CommentMark();

    [GeneratedRegex(@"^\s+\./redstack\.ps1 (\S+)")]
    private static partial Regex UsageLine();
}
