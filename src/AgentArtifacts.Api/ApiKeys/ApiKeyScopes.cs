namespace AgentArtifacts.Api.ApiKeys;

/// <summary>
/// One scope of an API key or server credential: <c>kind:mediaRange:action</c>, e.g. <c>resource:text/*:read</c> or
/// <c>tool:*/*:invoke</c>. Kind and media range are stored lower-case (MIME types are case-insensitive).
/// </summary>
public sealed record ApiKeyScope(string Kind, string MediaRange, string Action)
{
    public override string ToString() => $"{Kind}:{MediaRange}:{Action}";
}

/// <summary>
/// The pure rules of scopes: parsing, and whether a set of scopes allows an action on an artifact of a content type.
/// A scope never grants anything by itself: it only narrows what the key's owner (or a server's grants) may do.
/// </summary>
public static class ApiKeyScopes
{
    public const string Resource = "resource";
    public const string Tool = "tool";
    public const string Prompt = "prompt";
    public static readonly IReadOnlyList<string> Kinds = [Resource, Tool, Prompt];
    public static readonly IReadOnlyList<string> Actions = ["read", "write", "create", "delete", "search", "invoke"];

    /// <summary>Content types that are executed (invoked as tools): agents, MCP tools, HTTP tools and MCP servers.</summary>
    public static readonly IReadOnlySet<string> ToolTypes = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "application/vnd.agience.tool+json",
        "application/vnd.agience.http-tool+json",
        "application/vnd.agience.mcp-server+json",
        "application/vnd.agience.agent+json",
    };

    public static bool TryParse(string? text, out ApiKeyScope scope, out string error)
    {
        scope = null!;
        var parts = (text ?? "").Split(':');
        if (parts.Length != 3)
        {
            error = "A scope is kind:mediaType:action, e.g. resource:text/*:read.";
            return false;
        }
        var (kind, range, action) = (parts[0].ToLowerInvariant(), parts[1].ToLowerInvariant(), parts[2]);
        if (!Kinds.Contains(kind))
        {
            error = $"Unknown scope kind '{parts[0]}'; use resource, tool or prompt.";
            return false;
        }
        if (range == "*") range = "*/*";
        if (!IsMediaRange(range))
        {
            error = $"'{parts[1]}' is not a media type or wildcard such as */*, text/* or text/markdown.";
            return false;
        }
        if (!Actions.Contains(action))
        {
            error = $"Unknown scope action '{action}'; use {string.Join(", ", Actions)}.";
            return false;
        }
        scope = new ApiKeyScope(kind, range, action);
        error = "";
        return true;
    }

    /// <summary>Parses scopes already validated when they were stored; an unparsable one (never expected) allows nothing.</summary>
    public static IReadOnlyList<ApiKeyScope> ParseStored(IEnumerable<string> scopes) =>
        scopes.Select(s => TryParse(s, out var scope, out _) ? scope : null).OfType<ApiKeyScope>().ToList();

    /// <summary>The scope kind an artifact's content type belongs to: tool for executables, prompt for prompts, else resource.</summary>
    public static string KindOf(string contentType)
    {
        var type = Essence(contentType);
        if (ToolTypes.Contains(type)) return Tool;
        var slash = type.IndexOf('/');
        var subtype = slash < 0 ? type : type[(slash + 1)..];
        var plus = subtype.IndexOf('+');
        var name = plus < 0 ? subtype : subtype[..plus];
        return name == "prompt" || name.EndsWith(".prompt", StringComparison.Ordinal) || name.EndsWith("-prompt", StringComparison.Ordinal)
            ? Prompt : Resource;
    }

    /// <summary>Whether any scope allows <paramref name="action"/> on an artifact of <paramref name="contentType"/> of kind <paramref name="kind"/>.</summary>
    public static bool Allows(IEnumerable<ApiKeyScope> scopes, string kind, string contentType, string action)
    {
        var type = Essence(contentType);
        return scopes.Any(s => s.Kind == kind && s.Action == action && Matches(s.MediaRange, type));
    }

    /// <summary>Whether any scope allows <paramref name="action"/> on an artifact of <paramref name="contentType"/>, its kind derived from the type.</summary>
    public static bool Allows(IEnumerable<ApiKeyScope> scopes, string contentType, string action) =>
        Allows(scopes, KindOf(contentType), contentType, action);

    /// <summary>Whether any scope has this action at all: the route-level check, before the resource is known.</summary>
    public static bool AllowsAction(IEnumerable<ApiKeyScope> scopes, string action) => scopes.Any(s => s.Action == action);

    /// <summary><c>*/*</c> matches everything, <c>text/*</c> every text type, anything else only itself.</summary>
    public static bool Matches(string mediaRange, string contentType)
    {
        if (mediaRange == "*/*") return true;
        var type = Essence(contentType);
        return mediaRange.EndsWith("/*", StringComparison.Ordinal)
            ? type.StartsWith(mediaRange[..^1], StringComparison.Ordinal)
            : type == mediaRange;
    }

    /// <summary>The type/subtype of a content type, lower-case, without parameters (<c>text/plain; charset=utf-8</c> → <c>text/plain</c>).</summary>
    private static string Essence(string contentType)
    {
        var semicolon = contentType.IndexOf(';');
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim().ToLowerInvariant();
    }

    private static bool IsMediaRange(string range)
    {
        var slash = range.IndexOf('/');
        if (slash <= 0 || slash == range.Length - 1 || range.IndexOf('/', slash + 1) >= 0) return false;
        var (type, subtype) = (range[..slash], range[(slash + 1)..]);
        if (type == "*") return subtype == "*";
        return IsToken(type) && (subtype == "*" || IsToken(subtype));
    }

    // RFC 6838 restricted-name characters.
    private static bool IsToken(string s) => s.Length is > 0 and <= 127 && char.IsAsciiLetterOrDigit(s[0])
        && s.All(c => char.IsAsciiLetterOrDigit(c) || "!#$&-^_.+".Contains(c));
}
