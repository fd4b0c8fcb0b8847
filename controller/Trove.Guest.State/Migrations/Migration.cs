using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.State.Migrations;

/// <summary>
/// One step of the schema: its version (1, 2, 3... with no gaps), a name, and its SQL, written once in the subset both
/// providers understand (TEXT, INTEGER, BIGINT; times as Unix milliseconds; booleans as 0/1).
/// </summary>
public sealed record Migration(int Version, string Name, string Sql)
{
    /// <summary>What the database records of the step, so that a migration edited after it ran is noticed.</summary>
    public string Checksum => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql.ReplaceLineEndings("\n"))))[..16];
}
