using System.Text;
using System.Text.Json.Nodes;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>JSON Patch (RFC 6902) between two JSON values.</summary>
public static class JsonDiff
{
    /// <summary>
    /// RFC 6902 operations that turn <paramref name="from"/> into <paramref name="to"/> (null is JSON null).
    /// Objects are compared member by member, arrays element by element for their common length, then elements are
    /// added at the end or removed from the end, highest index first; anything else that differs is replaced.
    /// An empty array when the two are equal.
    /// </summary>
    public static JsonArray Between(JsonNode? from, JsonNode? to)
    {
        var operations = new JsonArray();
        Compare(from, to, "", operations);
        return operations;
    }

    private static void Compare(JsonNode? from, JsonNode? to, string path, JsonArray operations)
    {
        switch (from, to)
        {
            case (JsonObject fromObject, JsonObject toObject):
                CompareObjects(fromObject, toObject, path, operations);
                break;
            case (JsonArray fromArray, JsonArray toArray):
                CompareArrays(fromArray, toArray, path, operations);
                break;
            default:
                if (!JsonNode.DeepEquals(from, to)) operations.Add(Operation("replace", path, to));
                break;
        }
    }

    private static void CompareObjects(JsonObject from, JsonObject to, string path, JsonArray operations)
    {
        foreach (var (name, value) in from)
        {
            if (to.TryGetPropertyValue(name, out var other)) Compare(value, other, Member(path, name), operations);
            else operations.Add(Removal(Member(path, name)));
        }
        foreach (var (name, value) in to)
        {
            if (!from.ContainsKey(name)) operations.Add(Operation("add", Member(path, name), value));
        }
    }

    private static void CompareArrays(JsonArray from, JsonArray to, string path, JsonArray operations)
    {
        var common = Math.Min(from.Count, to.Count);
        for (var i = 0; i < common; i++) Compare(from[i], to[i], $"{path}/{i}", operations);
        for (var i = common; i < to.Count; i++) operations.Add(Operation("add", $"{path}/{i}", to[i]));
        for (var i = from.Count - 1; i >= common; i--) operations.Add(Removal($"{path}/{i}"));
    }

    /// <summary>A JSON Pointer (RFC 6901) step: "~" and "/" in a member name are written "~0" and "~1".</summary>
    private static string Member(string path, string name) => $"{path}/{name.Replace("~", "~0").Replace("/", "~1")}";

    private static JsonObject Operation(string op, string path, JsonNode? value) =>
        new() { ["op"] = op, ["path"] = path, ["value"] = value?.DeepClone() };

    private static JsonObject Removal(string path) => new() { ["op"] = "remove", ["path"] = path };
}

/// <summary>A unified diff between two texts and how many lines it adds and removes.</summary>
/// <param name="Unified">The unified diff (<c>diff -u</c> format, 3 lines of context); empty when the texts are equal.</param>
/// <param name="LinesAdded">How many lines the diff adds.</param>
/// <param name="LinesRemoved">How many lines the diff removes.</param>
public sealed record LineDiff(string Unified, int LinesAdded, int LinesRemoved)
{
    private const string NoNewline = "\\ No newline at end of file\n";

    /// <summary>
    /// The unified diff (<c>diff -u</c> format, GNU hunk header conventions) that turns <paramref name="from"/> into
    /// <paramref name="to"/>, found with Myers' O(ND) algorithm over lines split on "\n". Null text is empty;
    /// equal texts give an empty diff.
    /// </summary>
    public static LineDiff Between(string? from, string? to, string fromLabel, string toLabel, int contextLines = 3)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(contextLines);
        var fromLines = Lines(from ?? "");
        var toLines = Lines(to ?? "");
        var (removed, added) = LineEdits.Find(fromLines, toLines);
        var changes = Changes(removed, added);
        if (changes.Count == 0) return new("", 0, 0);

        var unified = new StringBuilder().Append($"--- {fromLabel}\n+++ {toLabel}\n");
        foreach (var hunk in Hunks(changes, contextLines)) AppendHunk(unified, hunk, fromLines, toLines, contextLines);
        return new(unified.ToString(), added.Count(a => a), removed.Count(r => r));
    }

    /// <summary>The lines of a text, each with its "\n" (the last one has none when the text does not end in a newline).</summary>
    private static string[] Lines(string text)
    {
        var lines = new List<string>();
        for (var start = 0; start < text.Length;)
        {
            var newline = text.IndexOf('\n', start);
            var end = newline < 0 ? text.Length : newline + 1;
            lines.Add(text[start..end]);
            start = end;
        }
        return [.. lines];
    }

    /// <summary>A run of removed lines and the run of added lines that replace it, at 0-based line indices.</summary>
    private readonly record struct Change(int From, int Removed, int To, int Added);

    private static List<Change> Changes(bool[] removed, bool[] added)
    {
        var changes = new List<Change>();
        for (int i = 0, j = 0; i < removed.Length || j < added.Length;)
        {
            if ((i < removed.Length && removed[i]) || (j < added.Length && added[j]))
            {
                var (from, to) = (i, j);
                while (i < removed.Length && removed[i]) i++;
                while (j < added.Length && added[j]) j++;
                changes.Add(new(from, i - from, to, j - to));
            }
            else (i, j) = (i + 1, j + 1);
        }
        return changes;
    }

    /// <summary>Changes whose context would touch or overlap share a hunk.</summary>
    private static List<List<Change>> Hunks(List<Change> changes, int contextLines)
    {
        var hunks = new List<List<Change>> { new() { changes[0] } };
        foreach (var change in changes.Skip(1))
        {
            var previous = hunks[^1][^1];
            if (change.From - (previous.From + previous.Removed) <= 2 * contextLines) hunks[^1].Add(change);
            else hunks.Add([change]);
        }
        return hunks;
    }

    private static void AppendHunk(StringBuilder unified, List<Change> hunk, string[] fromLines, string[] toLines, int contextLines)
    {
        var (first, last) = (hunk[0], hunk[^1]);
        var before = Math.Min(contextLines, first.From);
        var after = Math.Min(contextLines, fromLines.Length - (last.From + last.Removed));
        var (fromStart, toStart) = (first.From - before, first.To - before);
        var fromEnd = last.From + last.Removed + after;
        var toEnd = last.To + last.Added + after;
        unified.Append($"@@ -{Range(fromStart, fromEnd - fromStart)} +{Range(toStart, toEnd - toStart)} @@\n");

        var line = fromStart;
        foreach (var change in hunk)
        {
            while (line < change.From) AppendLine(unified, ' ', fromLines[line++]);
            for (var i = change.From; i < change.From + change.Removed; i++) AppendLine(unified, '-', fromLines[i]);
            for (var j = change.To; j < change.To + change.Added; j++) AppendLine(unified, '+', toLines[j]);
            line = change.From + change.Removed;
        }
        while (line < fromEnd) AppendLine(unified, ' ', fromLines[line++]);
    }

    /// <summary>GNU's hunk range: "start,count", just "start" for one line, and the line before the hunk for none.</summary>
    private static string Range(int start, int count) => count switch
    {
        0 => $"{start},0",
        1 => $"{start + 1}",
        _ => $"{start + 1},{count}",
    };

    private static void AppendLine(StringBuilder unified, char prefix, string line)
    {
        unified.Append(prefix).Append(line);
        if (!line.EndsWith('\n')) unified.Append('\n').Append(NoNewline);
    }
}

/// <summary>Myers' O(ND) difference algorithm in linear space ("An O(ND) Difference Algorithm and Its Variations", 1986, section 4b).</summary>
file static class LineEdits
{
    /// <summary>Which lines of each side a shortest edit script removes and adds.</summary>
    public static (bool[] Removed, bool[] Added) Find(string[] from, string[] to)
    {
        // Lines keep their "\n", so a last line without one differs from the same line with one, as in GNU diff.
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var a = from.Select(line => Id(ids, line)).ToArray();
        var b = to.Select(line => Id(ids, line)).ToArray();

        // A line found on one side only cannot be matched: leaving it out of the search keeps the script shortest
        // and makes texts with little in common cheap to compare.
        var (inA, inB) = (a.ToHashSet(), b.ToHashSet());
        var aKept = Enumerable.Range(0, a.Length).Where(i => inB.Contains(a[i])).ToArray();
        var bKept = Enumerable.Range(0, b.Length).Where(j => inA.Contains(b[j])).ToArray();

        var search = new Search(aKept.Select(i => a[i]).ToArray(), bKept.Select(j => b[j]).ToArray());
        search.Compare(0, aKept.Length, 0, bKept.Length);

        var removed = Enumerable.Repeat(true, a.Length).ToArray();
        var added = Enumerable.Repeat(true, b.Length).ToArray();
        for (var i = 0; i < aKept.Length; i++) removed[aKept[i]] = search.Removed[i];
        for (var j = 0; j < bKept.Length; j++) added[bKept[j]] = search.Added[j];
        return (removed, added);
    }

    private static int Id(Dictionary<string, int> ids, string line)
    {
        if (!ids.TryGetValue(line, out var id)) ids[line] = id = ids.Count;
        return id;
    }

    /// <summary>
    /// The divide-and-conquer search over a and b. Diagonal k holds the points (x, y) with x - y = k; the forward and
    /// backward arrays hold, per diagonal, the furthest x reached from the start and from the end of the current box.
    /// </summary>
    private sealed class Search(int[] a, int[] b)
    {
        public bool[] Removed { get; } = new bool[a.Length];
        public bool[] Added { get; } = new bool[b.Length];

        private readonly int[] _forward = new int[a.Length + b.Length + 3];
        private readonly int[] _backward = new int[a.Length + b.Length + 3];
        private readonly int _offset = b.Length + 1;

        public void Compare(int aLow, int aHigh, int bLow, int bHigh)
        {
            while (aLow < aHigh && bLow < bHigh && a[aLow] == b[bLow]) (aLow, bLow) = (aLow + 1, bLow + 1);
            while (aLow < aHigh && bLow < bHigh && a[aHigh - 1] == b[bHigh - 1]) (aHigh, bHigh) = (aHigh - 1, bHigh - 1);

            if (aLow == aHigh) Array.Fill(Added, true, bLow, bHigh - bLow);
            else if (bLow == bHigh) Array.Fill(Removed, true, aLow, aHigh - aLow);
            else
            {
                var (x, y) = MiddleSnake(aLow, aHigh, bLow, bHigh);
                Compare(aLow, x, bLow, y);
                Compare(x, aHigh, y, bHigh);
            }
        }

        /// <summary>
        /// A point on a shortest path through the box, found where the paths grown from both corners meet, after about
        /// half of the box's edit distance from each. The box's first and last lines differ, so both halves are smaller.
        /// </summary>
        private (int X, int Y) MiddleSnake(int aLow, int aHigh, int bLow, int bHigh)
        {
            var (minK, maxK) = (aLow - bHigh, aHigh - bLow);
            var (forwardK, backwardK) = (aLow - bLow, aHigh - bHigh);
            var odd = ((forwardK - backwardK) & 1) != 0;
            var (fMin, fMax, bMin, bMax) = (forwardK, forwardK, backwardK, backwardK);
            _forward[_offset + forwardK] = aLow;
            _backward[_offset + backwardK] = aHigh;

            while (true)
            {
                // Widen the band of diagonals by one on each side while it stays in the box, with sentinels just outside.
                if (fMin > minK) _forward[_offset + --fMin - 1] = -1; else fMin++;
                if (fMax < maxK) _forward[_offset + ++fMax + 1] = -1; else fMax--;
                for (var k = fMax; k >= fMin; k -= 2)
                {
                    var (left, above) = (_forward[_offset + k - 1], _forward[_offset + k + 1]);
                    var x = left >= above ? left + 1 : above;
                    var y = x - k;
                    while (x < aHigh && y < bHigh && a[x] == b[y]) (x, y) = (x + 1, y + 1);
                    _forward[_offset + k] = x;
                    if (odd && bMin <= k && k <= bMax && _backward[_offset + k] <= x) return (x, y);
                }

                if (bMin > minK) _backward[_offset + --bMin - 1] = int.MaxValue; else bMin++;
                if (bMax < maxK) _backward[_offset + ++bMax + 1] = int.MaxValue; else bMax--;
                for (var k = bMax; k >= bMin; k -= 2)
                {
                    var (below, right) = (_backward[_offset + k - 1], _backward[_offset + k + 1]);
                    var x = below < right ? below : right - 1;
                    var y = x - k;
                    while (x > aLow && y > bLow && a[x - 1] == b[y - 1]) (x, y) = (x - 1, y - 1);
                    _backward[_offset + k] = x;
                    if (!odd && fMin <= k && k <= fMax && x <= _forward[_offset + k]) return (x, y);
                }
            }
        }
    }
}
