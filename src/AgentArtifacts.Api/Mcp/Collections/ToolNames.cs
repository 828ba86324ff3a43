using System.Text;

namespace AgentArtifacts.Api.Mcp.Collections;

/// <summary>
/// The MCP tool names of a collection's tools, from their titles: stable (the same members give the same names, whoever asks,
/// on any node, with no memory between requests), unique, and valid (<c>^[A-Za-z0-9_.-]{1,128}$</c>). A name is the title's
/// slug (lower case; every run of other characters one <c>_</c>; at most 64 characters; <c>tool</c> when nothing is left).
/// When titles share a slug, the oldest artifact (the smallest id: ids are time-ordered) keeps it and the others add
/// <c>_</c> and the last 12 hex digits of their id, so adding a tool never renames one already there.
/// </summary>
public static class ToolNames
{
    public const int MaxSlug = 64;

    public static IReadOnlyDictionary<Guid, string> Assign(IEnumerable<(Guid Id, string Title)> tools)
    {
        var names = new Dictionary<Guid, string>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var ordered = tools.DistinctBy(t => t.Id).OrderBy(t => t.Id.ToString("N"), StringComparer.Ordinal).ToList();
        // Plain slugs first, so that a suffixed name can never take a slug another title owns.
        foreach (var group in ordered.GroupBy(t => Slug(t.Title)))
        {
            var first = group.First();
            if (taken.Add(group.Key)) names[first.Id] = group.Key;
        }
        foreach (var (id, title) in ordered.Where(t => !names.ContainsKey(t.Id)))
        {
            var hex = id.ToString("N");
            var name = $"{Slug(title)}_{hex[^12..]}";
            if (!taken.Add(name)) taken.Add(name = $"{Slug(title)}_{hex}");
            names[id] = name;
        }
        return names;
    }

    public static string Slug(string title)
    {
        var slug = new StringBuilder();
        foreach (var c in title.ToLowerInvariant())
        {
            if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.') slug.Append(c);
            else if (slug.Length > 0 && slug[^1] != '_') slug.Append('_');
        }
        var text = slug.ToString().Trim('_', '.', '-');
        if (text.Length > MaxSlug) text = text[..MaxSlug].TrimEnd('_', '.', '-');
        return text.Length == 0 ? "tool" : text;
    }
}
