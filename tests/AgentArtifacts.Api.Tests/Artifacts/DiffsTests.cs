using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

/// <summary>Pure tests of the JSON and line diffs. No database.</summary>
public sealed class DiffsTests
{
    // ---- JsonDiff ----

    [Fact]
    public void equal_json_gives_no_operations()
    {
        JsonDiff.Between(JsonNode.Parse("""{"a":[1,{"b":null}],"c":"d"}"""), JsonNode.Parse("""{"c":"d","a":[1,{"b":null}]}""")).ShouldBeEmpty();
        JsonDiff.Between(null, null).ShouldBeEmpty();
    }

    [Fact]
    public void object_members_are_removed_replaced_and_added()
    {
        Operations("""{"keep":1,"gone":2,"changed":3}""", """{"keep":1,"changed":4,"new":5}""").ShouldBe(Json("""
            [{"op":"remove","path":"/gone"},{"op":"replace","path":"/changed","value":4},{"op":"add","path":"/new","value":5}]
            """));
    }

    [Fact]
    public void nested_objects_give_nested_paths()
    {
        Operations("""{"a":{"b":{"c":1,"d":2}}}""", """{"a":{"b":{"c":1,"d":3,"e":{}}}}""").ShouldBe(Json("""
            [{"op":"replace","path":"/a/b/d","value":3},{"op":"add","path":"/a/b/e","value":{}}]
            """));
    }

    [Fact]
    public void member_names_are_escaped_in_pointers()
    {
        Operations("""{"a/b":1,"m~n":2,"~1":3,"":4}""", """{"a/b":2,"m~n":3,"~1":4,"":5}""").ShouldBe(Json("""
            [{"op":"replace","path":"/a~1b","value":2},{"op":"replace","path":"/m~0n","value":3},
             {"op":"replace","path":"/~01","value":4},{"op":"replace","path":"/","value":5}]
            """));
    }

    [Fact]
    public void a_growing_array_adds_at_the_end()
    {
        Operations("""{"list":[1,2]}""", """{"list":[1,2,3,[4]]}""").ShouldBe(Json("""
            [{"op":"add","path":"/list/2","value":3},{"op":"add","path":"/list/3","value":[4]}]
            """));
    }

    [Fact]
    public void a_shrinking_array_removes_from_the_end_highest_index_first()
    {
        Operations("[1,2,3,4]", "[1,2]").ShouldBe(Json("""
            [{"op":"remove","path":"/3"},{"op":"remove","path":"/2"}]
            """));
    }

    [Fact]
    public void changed_array_elements_are_compared_in_place()
    {
        Operations("""[1,{"a":1},[true]]""", """[2,{"a":2},[true,false]]""").ShouldBe(Json("""
            [{"op":"replace","path":"/0","value":2},{"op":"replace","path":"/1/a","value":2},{"op":"add","path":"/2/1","value":false}]
            """));
    }

    [Fact]
    public void a_change_of_type_is_one_replace()
    {
        Operations("""{"a":1}""", "[1]").ShouldBe(Json("""[{"op":"replace","path":"","value":[1]}]"""));
        Operations("""{"a":{"b":1}}""", """{"a":[1]}""").ShouldBe(Json("""[{"op":"replace","path":"/a","value":[1]}]"""));
        Operations("""{"a":"1"}""", """{"a":1}""").ShouldBe(Json("""[{"op":"replace","path":"/a","value":1}]"""));
    }

    [Fact]
    public void null_is_a_value()
    {
        Operations("""{"a":null}""", """{"a":1}""").ShouldBe(Json("""[{"op":"replace","path":"/a","value":1}]"""));
        Operations("""{"a":1}""", """{"a":null}""").ShouldBe(Json("""[{"op":"replace","path":"/a","value":null}]"""));
        Operations("""{"a":null}""", "{}").ShouldBe(Json("""[{"op":"remove","path":"/a"}]"""));
        Operations("{}", """{"a":null}""").ShouldBe(Json("""[{"op":"add","path":"/a","value":null}]"""));
        Operations("null", """{"a":1}""").ShouldBe(Json("""[{"op":"replace","path":"","value":{"a":1}}]"""));
        Operations("[1]", "null").ShouldBe(Json("""[{"op":"replace","path":"","value":null}]"""));
    }

    [Fact]
    public void applying_the_patch_turns_from_into_to_for_random_documents()
    {
        var random = new Random(6902);
        for (var i = 0; i < 60; i++)
        {
            var from = RandomJson(random, 3);
            var to = i % 4 == 0 ? RandomJson(random, 3) : Mutate(from, random);
            var before = from?.ToJsonString();

            var patch = JsonDiff.Between(from, to);

            JsonNode.DeepEquals(ApplyPatch(from, patch), to).ShouldBeTrue($"{before} -> {to?.ToJsonString()} by {patch.ToJsonString()}");
            from?.ToJsonString().ShouldBe(before);
            JsonDiff.Between(from, from?.DeepClone()).ShouldBeEmpty();
        }
    }

    private static string Operations(string from, string to) => JsonDiff.Between(JsonNode.Parse(from), JsonNode.Parse(to)).ToJsonString();

    private static string Json(string json) => JsonNode.Parse(json)!.ToJsonString();

    /// <summary>RFC 6902 add, remove and replace, strict about targets that must (not) exist.</summary>
    private static JsonNode? ApplyPatch(JsonNode? document, JsonArray patch)
    {
        var root = document?.DeepClone();
        foreach (var operation in patch.Select(o => o!.AsObject()))
        {
            var op = operation["op"]!.GetValue<string>();
            var path = operation["path"]!.GetValue<string>();
            var value = operation["value"]?.DeepClone();
            if (op != "remove") operation.ContainsKey("value").ShouldBeTrue(path);
            if (path == "")
            {
                root = value;
                continue;
            }

            var tokens = path[1..].Split('/').Select(t => t.Replace("~1", "/").Replace("~0", "~")).ToArray();
            var parent = tokens[..^1].Aggregate(root, (node, token) => node is JsonArray array ? array[int.Parse(token)] : node![token]);
            var last = tokens[^1];
            switch (parent, op)
            {
                case (JsonArray array, "add"):
                    if (last == "-") array.Add(value);
                    else array.Insert(int.Parse(last), value);
                    break;
                case (JsonArray array, "remove"):
                    array.RemoveAt(int.Parse(last));
                    break;
                case (JsonArray array, "replace"):
                    int.Parse(last).ShouldBeLessThan(array.Count);
                    array[int.Parse(last)] = value;
                    break;
                case (JsonObject obj, "add"):
                    obj.ContainsKey(last).ShouldBeFalse(path);
                    obj[last] = value;
                    break;
                case (JsonObject obj, "remove"):
                    obj.Remove(last).ShouldBeTrue(path);
                    break;
                case (JsonObject obj, "replace"):
                    obj.ContainsKey(last).ShouldBeTrue(path);
                    obj[last] = value;
                    break;
                default:
                    throw new InvalidOperationException($"Cannot {op} at {path}.");
            }
        }
        return root;
    }

    private static readonly string[] Names = ["a", "b", "c", "a/b", "m~n", "~1", ""];

    private static JsonNode? RandomJson(Random random, int depth) => random.Next(depth > 0 ? 7 : 4) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(3)),
        2 => JsonValue.Create(Names[random.Next(Names.Length)]),
        3 => JsonValue.Create(random.Next(2) == 0),
        4 or 5 => new JsonObject(Enumerable.Range(0, random.Next(5))
            .Select(_ => KeyValuePair.Create(Names[random.Next(Names.Length)], RandomJson(random, depth - 1)))
            .DistinctBy(member => member.Key)),
        _ => new JsonArray(Enumerable.Range(0, random.Next(5)).Select(_ => RandomJson(random, depth - 1)).ToArray()),
    };

    /// <summary>A changed copy: members dropped, changed and added, elements changed, appended and removed.</summary>
    private static JsonNode? Mutate(JsonNode? node, Random random)
    {
        switch (node?.DeepClone())
        {
            case JsonObject obj when random.Next(5) > 0:
                foreach (var name in obj.Select(member => member.Key).ToList())
                {
                    var roll = random.Next(4);
                    if (roll == 0) obj.Remove(name);
                    else if (roll == 1) obj[name] = Mutate(obj[name], random);
                }
                if (random.Next(2) == 0) obj[Names[random.Next(Names.Length)]] = RandomJson(random, 2);
                return obj;
            case JsonArray array when random.Next(5) > 0:
                for (var i = 0; i < array.Count; i++)
                {
                    if (random.Next(3) == 0) array[i] = Mutate(array[i], random);
                }
                if (random.Next(2) == 0) array.Add(RandomJson(random, 2));
                if (array.Count > 0 && random.Next(3) == 0) array.RemoveAt(random.Next(array.Count));
                return array;
            default:
                return RandomJson(random, 2);
        }
    }

    // ---- LineDiff ----

    [Fact]
    public void equal_texts_give_an_empty_diff()
    {
        LineDiff.Between("a\nb\n", "a\nb\n", "before", "after").ShouldBe(new LineDiff("", 0, 0));
        LineDiff.Between(null, "", "before", "after").ShouldBe(new LineDiff("", 0, 0));
    }

    // The expected texts below are what GNU diff 3 prints for `diff -u --label before --label after`.

    [Fact]
    public void a_pure_insertion_has_context_around_it()
    {
        var diff = LineDiff.Between(Numbers(10), Numbers(10).Replace("5\n", "5\ninserted\n"), "before", "after");

        diff.Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -3,6 +3,7 @@
             3
             4
             5
            +inserted
             6
             7
             8
            """));
        (diff.LinesAdded, diff.LinesRemoved).ShouldBe((1, 0));
    }

    [Fact]
    public void a_pure_deletion_at_the_top_has_less_context_before_it()
    {
        var diff = LineDiff.Between(Numbers(10), Numbers(10).Replace("4\n5\n", ""), "before", "after");

        diff.Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -1,8 +1,6 @@
             1
             2
             3
            -4
            -5
             6
             7
             8
            """));
        (diff.LinesAdded, diff.LinesRemoved).ShouldBe((0, 2));
    }

    [Fact]
    public void a_change_in_the_middle_removes_then_adds()
    {
        var diff = LineDiff.Between(Numbers(10), Numbers(10).Replace("\n5\n", "\nfive\n"), "before", "after");

        diff.Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -2,7 +2,7 @@
             2
             3
             4
            -5
            +five
             6
             7
             8
            """));
        (diff.LinesAdded, diff.LinesRemoved).ShouldBe((1, 1));
    }

    [Fact]
    public void changes_seven_lines_apart_get_two_hunks()
    {
        var diff = LineDiff.Between(Numbers(20), Numbers(20).Replace("\n4\n", "\nfour\n").Replace("\n12\n", "\ntwelve\n"), "before", "after");

        diff.Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -1,7 +1,7 @@
             1
             2
             3
            -4
            +four
             5
             6
             7
            @@ -9,7 +9,7 @@
             9
             10
             11
            -12
            +twelve
             13
             14
             15
            """));
        (diff.LinesAdded, diff.LinesRemoved).ShouldBe((2, 2));
    }

    [Fact]
    public void changes_six_lines_apart_share_a_hunk()
    {
        var diff = LineDiff.Between(Numbers(20), Numbers(20).Replace("\n4\n", "\nfour\n").Replace("\n11\n", "\neleven\n"), "before", "after");

        diff.Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -1,14 +1,14 @@
             1
             2
             3
            -4
            +four
             5
             6
             7
             8
             9
             10
            -11
            +eleven
             12
             13
             14
            """));
    }

    [Fact]
    public void a_missing_newline_at_the_end_is_marked_on_each_side()
    {
        LineDiff.Between("x\ny", "x\nz", "before", "after").Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -1,2 +1,2 @@
             x
            -y
            \ No newline at end of file
            +z
            \ No newline at end of file
            """));
        LineDiff.Between("x\ny", "x\ny\n", "before", "after").Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -1,2 +1,2 @@
             x
            -y
            \ No newline at end of file
            +y
            """));
        LineDiff.Between("a\nb\nc", "z\nb\nc", "before", "after").Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -1,3 +1,3 @@
            -a
            +z
             b
             c
            \ No newline at end of file
            """));
    }

    [Fact]
    public void from_empty_and_to_empty_use_line_zero()
    {
        var added = LineDiff.Between(null, "a\nb", "before", "after");
        added.Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -0,0 +1,2 @@
            +a
            +b
            \ No newline at end of file
            """));
        (added.LinesAdded, added.LinesRemoved).ShouldBe((2, 0));

        var removed = LineDiff.Between("a\nb", "", "before", "after");
        removed.Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -1,2 +0,0 @@
            -a
            -b
            \ No newline at end of file
            """));
        (removed.LinesAdded, removed.LinesRemoved).ShouldBe((0, 2));
    }

    [Fact]
    public void without_context_a_side_with_no_lines_names_the_line_before()
    {
        LineDiff.Between("a\nb\n", "new\na\nb\n", "before", "after", contextLines: 0).Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -0,0 +1 @@
            +new
            """));
        LineDiff.Between("a\nb\n", "a\nx\nb\n", "before", "after", contextLines: 0).Unified.ShouldBe(Unified("""
            --- before
            +++ after
            @@ -1,0 +2 @@
            +x
            """));
    }

    [Fact]
    public void a_carriage_return_is_part_of_the_line()
    {
        LineDiff.Between("a\r\nb\r\n", "a\r\nc\r\n", "before", "after").Unified
            .ShouldBe("--- before\n+++ after\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n");
        LineDiff.Between("a\nb\n", "a\r\nb\n", "before", "after").LinesRemoved.ShouldBe(1);
    }

    [Fact]
    public void random_edits_patch_back_with_a_shortest_script()
    {
        var random = new Random(1986);
        for (var i = 0; i < 500; i++)
        {
            var lines = RandomLines(random, random.Next(0, 30), alphabet: 6);
            var from = Text(lines, endsInNewline: random.Next(4) > 0);
            var to = Text(Edit(lines, random), endsInNewline: random.Next(4) > 0);

            var diff = LineDiff.Between(from, to, "before", "after", contextLines: random.Next(0, 5));

            ApplyUnified(from, diff.Unified).ShouldBe(to, diff.Unified);
            var (fromLines, toLines) = (LinesWithEndings(from), LinesWithEndings(to));
            var common = LongestCommonSubsequence(fromLines, toLines);
            (diff.LinesAdded, diff.LinesRemoved).ShouldBe((toLines.Count - common, fromLines.Count - common));
        }
    }

    [Fact]
    public void ten_thousand_lines_with_scattered_edits_patch_back()
    {
        var random = new Random(10_000);
        var from = RandomLines(random, 10_000, alphabet: 3_000);
        var to = new List<string>(from);
        for (var i = 0; i < 300; i++)
        {
            var at = random.Next(to.Count);
            if (random.Next(2) == 0) to.RemoveAt(at);
            else to.Insert(at, $"new {i}");
        }

        var diff = LineDiff.Between(Text(from, true), Text(to, true), "before", "after");

        ApplyUnified(Text(from, true), diff.Unified).ShouldBe(Text(to, true));
        diff.LinesRemoved.ShouldBeLessThanOrEqualTo(150 + 300);
    }

    [Fact]
    public void ten_thousand_lines_with_nothing_in_common_are_all_replaced()
    {
        var from = Enumerable.Range(0, 10_000).Select(i => $"old {i}").ToList();
        var to = Enumerable.Range(0, 10_000).Select(i => $"new {i}").ToList();

        var diff = LineDiff.Between(Text(from, true), Text(to, true), "before", "after");

        (diff.LinesAdded, diff.LinesRemoved).ShouldBe((10_000, 10_000));
        ApplyUnified(Text(from, true), diff.Unified).ShouldBe(Text(to, true));
    }

    private static string Numbers(int count) => string.Concat(Enumerable.Range(1, count).Select(n => $"{n}\n"));

    /// <summary>Expected diffs are written as raw strings; the diff itself always uses "\n" and ends with one.</summary>
    private static string Unified(string lines) => lines.ReplaceLineEndings("\n") + "\n";

    private static string Text(List<string> lines, bool endsInNewline)
    {
        var text = string.Concat(lines.Select(line => line + "\n"));
        return endsInNewline || text.Length == 0 ? text : text[..^1];
    }

    private static List<string> RandomLines(Random random, int count, int alphabet) =>
        Enumerable.Range(0, count).Select(_ => $"line {random.Next(alphabet)}").ToList();

    private static List<string> Edit(List<string> lines, Random random)
    {
        var edited = new List<string>(lines);
        for (var edits = random.Next(0, 6); edits > 0; edits--)
        {
            var at = random.Next(edited.Count + 1);
            switch (random.Next(3))
            {
                case 0:
                    edited.InsertRange(at, RandomLines(random, random.Next(1, 4), alphabet: 8));
                    break;
                case 1 when at < edited.Count:
                    edited.RemoveRange(at, Math.Min(random.Next(1, 4), edited.Count - at));
                    break;
                case 2 when at < edited.Count:
                    edited[at] = $"changed {random.Next(4)}";
                    break;
            }
        }
        return edited;
    }

    private static int LongestCommonSubsequence(List<string> a, List<string> b)
    {
        var lengths = new int[a.Count + 1, b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
        {
            for (var j = 1; j <= b.Count; j++)
            {
                lengths[i, j] = a[i - 1] == b[j - 1] ? lengths[i - 1, j - 1] + 1 : Math.Max(lengths[i - 1, j], lengths[i, j - 1]);
            }
        }
        return lengths[a.Count, b.Count];
    }

    /// <summary>Applies a unified diff strictly: headers must count the lines, context and removed lines must match.</summary>
    private static string ApplyUnified(string original, string unified)
    {
        var source = LinesWithEndings(original);
        var result = new List<string>();
        var next = 0;
        var diff = unified.Split('\n');
        if (unified.Length > 0) (diff[0][..4], diff[1][..4]).ShouldBe(("--- ", "+++ "));
        for (var i = unified.Length > 0 ? 2 : 0; i < diff.Length - 1;)
        {
            var header = Regex.Match(diff[i], @"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$");
            header.Success.ShouldBeTrue(diff[i]);
            var number = (int group, int absent) => header.Groups[group].Success ? int.Parse(header.Groups[group].Value) : absent;
            var (fromStart, fromCount, toStart, toCount) = (number(1, 0), number(2, 1), number(3, 0), number(4, 1));

            var firstLine = fromCount == 0 ? fromStart : fromStart - 1;
            next.ShouldBeLessThanOrEqualTo(firstLine);
            while (next < firstLine) result.Add(source[next++]);
            result.Count.ShouldBe(toCount == 0 ? toStart : toStart - 1);

            var (fromSeen, toSeen) = (0, 0);
            for (i++; i < diff.Length - 1 && diff[i][0] is ' ' or '-' or '+'; i++)
            {
                var kind = diff[i][0];
                var line = diff[i][1..] + "\n";
                if (diff[i + 1] == "\\ No newline at end of file") (line, i) = (line[..^1], i + 1);
                if (kind != '+')
                {
                    source[next++].ShouldBe(line);
                    fromSeen++;
                }
                if (kind != '-')
                {
                    result.Add(line);
                    toSeen++;
                }
            }
            (fromSeen, toSeen).ShouldBe((fromCount, toCount), diff[i - 1]);
        }
        while (next < source.Count) result.Add(source[next++]);
        return string.Concat(result);
    }

    private static List<string> LinesWithEndings(string text)
    {
        var lines = new List<string>();
        for (var start = 0; start < text.Length;)
        {
            var newline = text.IndexOf('\n', start);
            var end = newline < 0 ? text.Length : newline + 1;
            lines.Add(text[start..end]);
            start = end;
        }
        return lines;
    }
}
