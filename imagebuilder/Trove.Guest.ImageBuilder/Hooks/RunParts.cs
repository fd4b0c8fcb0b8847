using System.Globalization;
using System.Text.RegularExpressions;

namespace Trove.Guest.ImageBuilder.Hooks;

/// <summary>
/// dib-run-parts' rules for what runs in a phase directory and in which order, kept exactly because elements rely on
/// them: executable files (symlinks followed) whose names are only letters, digits, <c>_</c> and <c>-</c> (a dot
/// disqualifies, so <c>10-foo.sh</c> never runs), ordered as <c>LC_ALL=C sort -n</c> orders them.
/// <c>environment.d</c> files are sourced instead: no executable bit needed, dots allowed, byte order.
/// </summary>
public static partial class RunParts
{
    [GeneratedRegex("^[0-9A-Za-z_-]+$")]
    private static partial Regex ScriptName();

    [GeneratedRegex("^[0-9A-Za-z_.-]+$")]
    private static partial Regex EnvironmentName();

    public static IReadOnlyList<string> Scripts(string phaseDirectory) =>
        Directory.Exists(phaseDirectory)
            ? Sorted(Directory.EnumerateFileSystemEntries(phaseDirectory).Where(p => IsExecutableFile(p) && ScriptName().IsMatch(Path.GetFileName(p))))
            : [];

    /// <summary>
    /// dib-run-parts sorts these as whole paths with <c>sort -n</c>; a path starts with '/', so no number leads and the
    /// order is plain byte order of the names (<c>10-b</c> before <c>9-a</c>, unlike scripts).
    /// </summary>
    public static IReadOnlyList<string> EnvironmentFiles(string environmentDirectory) =>
        Directory.Exists(environmentDirectory)
            ? Directory.EnumerateFileSystemEntries(environmentDirectory).Where(p => File.Exists(p) && EnvironmentName().IsMatch(Path.GetFileName(p)))
                .OrderBy(p => Path.GetFileName(p), StringComparer.Ordinal).ToList()
            : [];

    private static List<string> Sorted(IEnumerable<string> paths) =>
        paths.OrderBy(p => Path.GetFileName(p), SortNumeric.Instance).ToList();

    /// <summary><c>find -xtype f -executable</c>: a regular file after following links, executable by someone.</summary>
    private static bool IsExecutableFile(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
        if (!info.Exists) return false;
        return (info.UnixFileMode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }

    /// <summary>
    /// <c>LC_ALL=C sort -n</c>: by the number at the start of the name (an optional minus sign, digits, an optional
    /// fraction; none counts as zero), then, for equal numbers, byte by byte over the whole name.
    /// </summary>
    internal sealed class SortNumeric : IComparer<string>
    {
        public static readonly SortNumeric Instance = new();

        public int Compare(string? x, string? y)
        {
            var byNumber = Leading(x!).CompareTo(Leading(y!));
            return byNumber != 0 ? byNumber : string.CompareOrdinal(x, y);
        }

        private static decimal Leading(string s)
        {
            var i = 0;
            while (i < s.Length && s[i] is ' ' or '\t') i++;
            var start = i;
            if (i < s.Length && s[i] == '-') i++;
            var digits = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i < s.Length && s[i] == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]))
            {
                i++;
                while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            }
            if (i == digits) return 0;
            var text = s[start..i];
            return decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) ? n : 0;
        }
    }
}
