using System.Text;

namespace AgentArtifacts.Api.Mcp.Prompts;

/// <summary>
/// The name an MCP client calls a prompt (or a tool) by: the title as a slug, then the last eight hex digits of the id. The
/// name depends only on the artifact, never on what else is listed, so it stays the same from one request to the next on any
/// node and needs no memory on the server; the id's suffix keeps two artifacts with one title apart. The last digits, not
/// the first: an id is a UUID v7, whose first digits are its creation time, equal for artifacts made within a minute, and
/// whose last digits are random. The result matches the tool-name rule of the protocol, <c>^[A-Za-z0-9_.-]{1,128}$</c>.
/// </summary>
public static class PromptNames
{
    public const int MaxSlugLength = 48;

    public static string Of(Guid id, string? title) => $"{Slug(title)}-{id.ToString("N")[^8..]}";

    /// <summary>Lower-case letters and digits of the title (accents dropped), other runs as one <c>_</c>; <c>prompt</c> when none is left.</summary>
    public static string Slug(string? title)
    {
        var slug = new StringBuilder();
        foreach (var c in (title ?? "").Normalize(NormalizationForm.FormD))
        {
            if (char.IsAsciiLetterOrDigit(c)) slug.Append(char.ToLowerInvariant(c));
            else if (System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.NonSpacingMark) continue;
            else if (slug.Length > 0 && slug[^1] != '_') slug.Append('_');
            if (slug.Length >= MaxSlugLength) break;
        }
        var text = slug.ToString().Trim('_');
        return text.Length == 0 ? "prompt" : text;
    }
}
