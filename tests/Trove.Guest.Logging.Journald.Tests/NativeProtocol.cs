using System.Buffers.Binary;
using System.Text;

namespace Trove.Guest.Logging.Journald.Tests;

/// <summary>One field of a journald native-protocol entry, and whether it came in the binary (length-prefixed) form.</summary>
public sealed record JournalField(string Name, byte[] Value, bool Binary)
{
    public string Text => Encoding.UTF8.GetString(Value);
}

/// <summary>
/// A journald entry parsed back from the wire, following the rules journald itself applies
/// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/).
/// </summary>
public sealed class JournalEntry(IReadOnlyList<JournalField> fields)
{
    public IReadOnlyList<JournalField> Fields { get; } = fields;

    public IEnumerable<string> Names => Fields.Select(f => f.Name);

    /// <summary>The single value of <paramref name="name"/>; fails when the field is missing or repeated.</summary>
    public string this[string name] => Field(name).Text;

    public JournalField Field(string name)
    {
        var matches = Fields.Where(f => f.Name == name).ToList();
        if (matches.Count != 1)
            throw new InvalidOperationException($"expected one {name} field, found {matches.Count} in [{string.Join(", ", Names)}]");
        return matches[0];
    }

    public static JournalEntry Parse(ReadOnlySpan<byte> data)
    {
        var fields = new List<JournalField>();
        while (!data.IsEmpty)
        {
            int end = data.IndexOfAny((byte)'=', (byte)'\n');
            if (end <= 0)
                throw new FormatException("field without a name or terminator");
            string name = Encoding.ASCII.GetString(data[..end]);
            if (data[end] == (byte)'=')
            {
                data = data[(end + 1)..];
                int newline = data.IndexOf((byte)'\n');
                if (newline < 0)
                    throw new FormatException($"{name}: value not terminated by a newline");
                fields.Add(new JournalField(name, data[..newline].ToArray(), Binary: false));
                data = data[(newline + 1)..];
            }
            else
            {
                data = data[(end + 1)..];
                ulong length = BinaryPrimitives.ReadUInt64LittleEndian(data);
                data = data[sizeof(ulong)..];
                fields.Add(new JournalField(name, data[..checked((int)length)].ToArray(), Binary: true));
                if (data[(int)length] != (byte)'\n')
                    throw new FormatException($"{name}: binary value not followed by a newline");
                data = data[((int)length + 1)..];
            }
        }
        return new JournalEntry(fields);
    }
}
