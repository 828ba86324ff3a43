using System.Text;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>A page of a list endpoint: <c>{items, nextCursor}</c>; <c>nextCursor</c> is null on the last page.</summary>
/// <param name="Items">This page's items, in the list's order; at most <c>limit</c> of them, possibly fewer before the last page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> to get the next page; null on the last page.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>Keyset paging with opaque cursors: the cursor wraps the last key of the previous page.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;
    private const string Prefix = "v1:";

    public static string Encode(string lastKey) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(Prefix + lastKey)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Reads <c>limit</c> and <c>cursor</c>; on bad input returns the 400 to answer with.</summary>
    public static IResult? TryRead<TKey>(int? limit, string? cursor, TryParse<TKey> parse, out int take, out TKey? after)
    {
        take = limit ?? DefaultLimit;
        after = default;
        if (take is < 1 or > MaxLimit)
        {
            return Problems.Invalid("limit", $"limit must be between 1 and {MaxLimit}.", "invalid_limit");
        }
        if (string.IsNullOrEmpty(cursor)) return null;
        if (!TryDecode(cursor, out var key) || !parse(key, out var parsed))
        {
            return Problems.Invalid("cursor", "The cursor is not one this API issued.", "invalid_cursor");
        }
        after = parsed;
        return null;
    }

    /// <summary>
    /// Builds the page from up to <paramref name="take"/>+1 rows fetched in key order. <paramref name="visible"/> drops rows a
    /// narrowed credential (an API key's content-type scopes) may not see: such a page can hold fewer than <c>limit</c> items
    /// while <c>nextCursor</c> still leads on, as with any filter applied after the key range.
    /// </summary>
    public static Page<TOut> ToPage<TIn, TOut>(IReadOnlyList<TIn> rows, int take, Func<TIn, string> keyOf, Func<TIn, TOut> map,
        Func<TIn, bool>? visible = null)
    {
        var items = rows.Take(take).Where(r => visible is null || visible(r)).Select(map).ToList();
        return new Page<TOut>(items, rows.Count > take ? Encode(keyOf(rows[take - 1])) : null);
    }

    public delegate bool TryParse<TKey>(string text, out TKey value);

    private static bool TryDecode(string cursor, out string key)
    {
        key = "";
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            if (!text.StartsWith(Prefix, StringComparison.Ordinal)) return false;
            key = text[Prefix.Length..];
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
