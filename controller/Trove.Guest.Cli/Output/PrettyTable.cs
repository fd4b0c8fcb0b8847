using System.Globalization;
using System.Text;

namespace Trove.Guest.Cli.Output;

/// <summary>
/// The ASCII tables troveclient prints (Python's prettytable): a rule, the header, a rule, the rows, a rule; one space of
/// padding; each column left-aligned unless it is numeric (right); header cells aligned like their column; cells with
/// line breaks span several lines.
/// </summary>
internal sealed class PrettyTable(IReadOnlyList<string> headers, IReadOnlyList<bool> rightAligned)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    /// <summary>Rows ordered by one column (numbers as numbers, text ordinally), like prettytable's <c>sortby</c>.</summary>
    public void SortBy(int column) => _rows.Sort((a, b) => Compare(a[column], b[column]));

    public string Render()
    {
        var widths = headers.Select((h, i) => _rows.Select(r => Lines(r[i]).Max(l => l.Length)).Append(h.Length).Max()).ToArray();
        var rule = "+" + string.Join("+", widths.Select(w => new string('-', w + 2))) + "+";
        var text = new StringBuilder().AppendLine(rule);
        AppendRow(text, headers, widths);
        text.AppendLine(rule);
        foreach (var row in _rows) AppendRow(text, row, widths);
        return text.Append(rule).ToString();
    }

    private void AppendRow(StringBuilder text, IReadOnlyList<string> cells, int[] widths)
    {
        var lines = cells.Select(Lines).ToArray();
        for (var line = 0; line < lines.Max(l => l.Length); line++)
        {
            text.Append('|');
            for (var i = 0; i < widths.Length; i++)
            {
                var cell = line < lines[i].Length ? lines[i][line] : "";
                text.Append(' ').Append(rightAligned[i] ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i])).Append(" |");
            }
            text.AppendLine();
        }
    }

    private static string[] Lines(string cell) => cell.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');

    private static int Compare(string a, string b) =>
        double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out var y)
            ? x.CompareTo(y)
            : string.CompareOrdinal(a, b);
}
