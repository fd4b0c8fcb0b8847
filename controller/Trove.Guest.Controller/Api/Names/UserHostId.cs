namespace Trove.Guest.Controller.Api.Names;

/// <summary>
/// A user as the API's URLs name it: <c>name</c> or <c>name@host</c>, percent-encoded by troveclient (which also writes
/// '.' as <c>%2e</c>). Trove's <c>unquote_user_host</c>: decode once more, split at the last '@'; no host, or a
/// trailing '@', means host '%'.
/// </summary>
public sealed record UserHostId(string Name, string Host)
{
    public static UserHostId Parse(string id)
    {
        // The router already decoded the path once (all but %2F); Trove decodes again, so "bob%2540host" is bob@host too.
        var unquoted = Uri.UnescapeDataString(id);
        var at = unquoted.LastIndexOf('@');
        if (at < 0 || at == unquoted.Length - 1) return new UserHostId(unquoted, "%");
        return new UserHostId(unquoted[..at], unquoted[(at + 1)..]);
    }

    /// <summary>Trove's <c>"name@host"</c>: the marker of user lists and the id in "cannot be found" messages.</summary>
    public override string ToString() => $"{Name}@{Host}";
}
