using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Search;

// The search query language (docs/architecture.md, "Search query language"): a pure parser from the text a person or an
// agent types to a small AST. Expected failures are return values with a position; no input makes it throw.

/// <summary>A parsed query: every term must hold (the implicit AND between terms).</summary>
public sealed record SearchQuery(IReadOnlyList<SearchTerm> Terms)
{
    public const int MaxLength = 1000;
    public const int MaxTerms = 64;
    public const int MaxWordLength = 200;

    public static ParsedSearch Parse(string? text) => SearchQueryParser.Parse(text ?? "");

    /// <summary>A canonical form: OR groups in parentheses, filters with their resolved values.</summary>
    public override string ToString() => string.Join(" ", Terms);
}

/// <summary>Why a query could not be read, and where: <c>Position</c> is a 0-based index into the query text.</summary>
public sealed record SearchQueryError(string Message, int Position);

/// <summary>The query, or why it could not be read.</summary>
public sealed record ParsedSearch(SearchQuery? Query, SearchQueryError? Error)
{
    [MemberNotNullWhen(true, nameof(Query))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Succeeded => Error is null;
}

public abstract record SearchTerm;

/// <summary>A word; it matches stemmed (<c>running</c> finds <c>run</c>).</summary>
public sealed record WordTerm(string Word) : SearchTerm
{
    public override string ToString() => Word;
}

/// <summary>Words that must appear next to each other, in this order.</summary>
public sealed record PhraseTerm(string Phrase) : SearchTerm
{
    public override string ToString() => $"\"{Phrase}\"";
}

/// <summary><c>a OR b OR c</c>: at least one alternative (words or phrases) matches.</summary>
public sealed record AnyOfTerm(IReadOnlyList<SearchTerm> Alternatives) : SearchTerm
{
    public override string ToString() => $"({string.Join(" OR ", Alternatives)})";
}

/// <summary><c>-term</c>: the word, phrase or filter must not match.</summary>
public sealed record NotTerm(SearchTerm Term) : SearchTerm
{
    public override string ToString() => $"-{Term}";
}

/// <summary><c>type:</c> a content type, lower-cased; <c>*</c> matches any run of characters.</summary>
public sealed record TypeFilter(string Pattern) : SearchTerm
{
    public bool HasWildcard => Pattern.Contains('*');

    /// <summary>A media type or a wildcard such as <c>text/*</c>, <c>*/json</c> or <c>application/vnd.*+json</c>; null when it is neither.</summary>
    public static TypeFilter? TryCreate(string value) =>
        SearchQueryParser.ContentTypePattern().IsMatch(value) ? new TypeFilter(value.ToLowerInvariant()) : null;

    public override string ToString() => $"type:{Pattern}";
}

/// <summary><c>tag:</c> the artifact has exactly this tag (tags are case-sensitive).</summary>
public sealed record TagFilter(string Tag) : SearchTerm
{
    public override string ToString() => $"tag:\"{Tag}\"";
}

public sealed record StateFilter(ArtifactState State) : SearchTerm
{
    public override string ToString() => $"state:{State.ToString().ToLowerInvariant()}";
}

public sealed record ContainerFilter(Guid ContainerId) : SearchTerm
{
    public override string ToString() => $"container:{ContainerId}";
}

public enum DateField { Created, Updated }

/// <summary><c>created:</c>/<c>updated:</c> resolved to the half-open UTC range [<c>From</c>, <c>Until</c>); a missing end is open.</summary>
public sealed record DateFilter(DateField Field, DateTimeOffset? From, DateTimeOffset? Until) : SearchTerm
{
    public override string ToString() => $"{Field.ToString().ToLowerInvariant()}:[{Format(From)},{Format(Until)})";

    private static string Format(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture) ?? "";
}

internal static partial class SearchQueryParser
{
    private static readonly string[] FilterNames = ["type", "tag", "state", "container", "created", "updated"];
    private const char NoSign = ' ';

    // One scanned term: its position, its sign, and what it is (null when sanitizing left nothing to search for).
    private sealed record Token(int Position, bool IsOr, char Sign, SearchTerm? Term);

    public static ParsedSearch Parse(string text)
    {
        if (text.Length > SearchQuery.MaxLength)
            return Fail($"The query is longer than {SearchQuery.MaxLength} characters.", SearchQuery.MaxLength);

        var tokens = new List<Token>();
        var scanner = new Scanner(text);
        var termCount = 0;
        while (scanner.SkipSeparators())
        {
            var error = scanner.Next(out var token);
            if (error is not null) return new ParsedSearch(null, error);
            if (!token.IsOr && ++termCount > SearchQuery.MaxTerms)
                return Fail($"The query has more than {SearchQuery.MaxTerms} terms.", token.Position);
            tokens.Add(token);
        }
        return Combine(tokens);
    }

    // The implicit AND between terms binds looser than OR: "a b OR c" is a AND (b OR c).
    private static ParsedSearch Combine(List<Token> tokens)
    {
        var groups = new List<List<Token>>();
        Token? pendingOr = null;
        foreach (var token in tokens)
        {
            if (token.IsOr)
            {
                if (groups.Count == 0 || pendingOr is not null) return Fail("OR needs a word or phrase on each side.", token.Position);
                if (!CanBeAlternative(groups[^1][^1])) return Fail("Only words and phrases can be joined with OR.", groups[^1][^1].Position);
                pendingOr = token;
                continue;
            }
            if (pendingOr is not null)
            {
                if (!CanBeAlternative(token)) return Fail("Only words and phrases can be joined with OR.", token.Position);
                groups[^1].Add(token);
                pendingOr = null;
            }
            else groups.Add([token]);
        }
        if (pendingOr is not null) return Fail("OR needs a word or phrase on each side.", pendingOr.Position);

        var terms = groups.Select(ToTerm).OfType<SearchTerm>().ToList();
        if (terms.Count == 0) return Fail("The query is empty: give a word, a phrase or a filter.", 0);
        if (terms.All(t => t is NotTerm)) return Fail("The query only excludes: give a word, a phrase or a filter to find.", 0);
        return new ParsedSearch(new SearchQuery(terms), null);
    }

    private static bool CanBeAlternative(Token token) => token.Sign != '-' && token.Term is null or WordTerm or PhraseTerm;

    private static SearchTerm? ToTerm(List<Token> group)
    {
        if (group.Count == 1) return group[0].Term is { } term && group[0].Sign == '-' ? new NotTerm(term) : group[0].Term;
        var alternatives = group.Select(t => t.Term).OfType<SearchTerm>().Distinct().ToList();
        return alternatives.Count switch { 0 => null, 1 => alternatives[0], _ => new AnyOfTerm(alternatives) };
    }

    private static ParsedSearch Fail(string message, int position) => new(null, new SearchQueryError(message, position));

    private sealed class Scanner(string text)
    {
        private int _at;

        /// <summary>Skips whitespace; false at the end of the text.</summary>
        public bool SkipSeparators()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at])) _at++;
            return _at < text.Length;
        }

        public SearchQueryError? Next(out Token token)
        {
            var start = _at;
            // A sign binds to what follows it; a lone "-" is punctuation, dropped like any other.
            var sign = text[_at] is '-' or '+' && _at + 1 < text.Length && !char.IsWhiteSpace(text[_at + 1]) ? text[_at++] : NoSign;

            if (text[_at] == '"')
            {
                var error = ReadQuoted(out var phrase);
                token = new Token(start, false, sign, TextTerm(phrase, isPhrase: true));
                return error ?? CheckWordLengths(phrase, start);
            }

            var word = ReadWord();
            token = new Token(start, false, sign, null);
            if (sign == NoSign && word == "OR")
            {
                token = token with { IsOr = true };
                return null;
            }

            var colon = word.IndexOf(':');
            if (colon > 0 && FilterNames.Contains(word[..colon], StringComparer.OrdinalIgnoreCase))
            {
                var valueStart = start + (sign == NoSign ? 0 : 1) + colon + 1;
                var value = word[(colon + 1)..];
                if (value.Length == 0 && _at < text.Length && text[_at] == '"')
                {
                    var quoteError = ReadQuoted(out value);
                    if (quoteError is not null) return quoteError;
                }
                var filterError = ReadFilter(word[..colon].ToLowerInvariant(), value.Trim(), valueStart, out var filter);
                token = token with { Term = filter };
                return filterError;
            }

            token = token with { Term = TextTerm(word, isPhrase: false) };
            return CheckWordLengths(word, start);
        }

        // A word runs to whitespace or a quote; control characters and broken surrogates are dropped as it is read.
        private string ReadWord()
        {
            var word = new StringBuilder();
            for (; _at < text.Length && !char.IsWhiteSpace(text[_at]) && text[_at] != '"'; _at++) AppendClean(word);
            return word.ToString();
        }

        private SearchQueryError? ReadQuoted(out string content)
        {
            var open = _at++;
            var quoted = new StringBuilder();
            for (; _at < text.Length && text[_at] != '"'; _at++) AppendClean(quoted);
            content = quoted.ToString();
            if (_at == text.Length) return new SearchQueryError("The quote is not closed.", open);
            _at++;
            return null;
        }

        private void AppendClean(StringBuilder into)
        {
            var c = text[_at];
            if (char.IsHighSurrogate(c) && _at + 1 < text.Length && char.IsLowSurrogate(text[_at + 1]))
            {
                into.Append(c).Append(text[++_at]);
                return;
            }
            if (char.IsWhiteSpace(c)) into.Append(' ');
            else if (!char.IsControl(c) && !char.IsSurrogate(c)) into.Append(c);  // PostgreSQL refuses NUL; UTF-8 cannot carry a lone surrogate
        }

        private static SearchQueryError? CheckWordLengths(string text, int position) =>
            text.Split(' ').Any(w => w.Length > SearchQuery.MaxWordLength)
                ? new SearchQueryError($"A word is longer than {SearchQuery.MaxWordLength} characters.", position)
                : null;
    }

    // A term with no letter or digit ("!!!", "&", an emoji) would become an empty tsquery: it is dropped instead.
    private static SearchTerm? TextTerm(string text, bool isPhrase)
    {
        var normalized = string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        if (!normalized.EnumerateRunes().Any(Rune.IsLetterOrDigit)) return null;
        return isPhrase ? new PhraseTerm(normalized) : new WordTerm(normalized);
    }

    private static SearchQueryError? ReadFilter(string name, string value, int position, out SearchTerm? filter)
    {
        filter = null;
        if (value.Length == 0) return new SearchQueryError($"The filter {name}: needs a value.", position - 1);  // at the colon: inside the text
        if (value.Length > SearchQuery.MaxWordLength)
            return new SearchQueryError($"The value of {name}: is longer than {SearchQuery.MaxWordLength} characters.", position);
        switch (name)
        {
            case "type":
                filter = TypeFilter.TryCreate(value);
                return filter is null
                    ? new SearchQueryError($"'{value}' is not a content type or a wildcard such as text/*, */json or application/vnd.*+json.", position)
                    : null;
            case "tag":
                filter = new TagFilter(value);
                return null;
            case "state":
                var state = Enum.GetValues<ArtifactState>().Where(s => s.ToString().Equals(value, StringComparison.OrdinalIgnoreCase)).ToList();
                filter = state.Count == 1 ? new StateFilter(state[0]) : null;
                return filter is null ? new SearchQueryError($"'{value}' is not a state: use draft, committed or archived.", position) : null;
            case "container":
                filter = Guid.TryParse(value, out var id) ? new ContainerFilter(id) : null;
                return filter is null ? new SearchQueryError($"'{value}' is not a container id (a UUID).", position) : null;
            default:
                return ReadDate(name == "created" ? DateField.Created : DateField.Updated, value, position, out filter);
        }
    }

    // A date is a whole UTC day, so >2026-01-01 starts on the 2nd and <=2026-01-01 ends with the 1st; a date-time is an instant
    // (PostgreSQL keeps microseconds, so "> t" is ">= t + 1 µs").
    private static SearchQueryError? ReadDate(DateField field, string value, int position, out SearchTerm? filter)
    {
        filter = null;
        var comparison = value.StartsWith(">=", StringComparison.Ordinal) || value.StartsWith("<=", StringComparison.Ordinal) ? value[..2]
            : value.StartsWith('>') || value.StartsWith('<') ? value[..1] : "";
        var text = value[comparison.Length..];
        position += comparison.Length;

        DateTimeOffset from, until;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            from = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            until = day == DateOnly.MaxValue ? DateTimeOffset.MaxValue : from.AddDays(1);
        }
        else if (IsoDateTime().IsMatch(text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                     DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            if (comparison.Length == 0)
                return new SearchQueryError($"Compare a date-time with >, >=, < or <= (as in {field.ToString().ToLowerInvariant()}:>{text}).", position);
            from = at.ToUniversalTime();
            until = from.UtcTicks > DateTimeOffset.MaxValue.UtcTicks - TicksPerMicrosecond ? DateTimeOffset.MaxValue : from.AddTicks(TicksPerMicrosecond);
        }
        else
        {
            return new SearchQueryError($"The {field.ToString().ToLowerInvariant()}: filter needs a date (2026-01-31) or a date-time (2026-01-31T12:00:00Z).",
                text.Length == 0 ? position - comparison.Length : position);
        }

        filter = comparison switch
        {
            ">" => new DateFilter(field, until, null),
            ">=" => new DateFilter(field, from, null),
            "<" => new DateFilter(field, null, from),
            "<=" => new DateFilter(field, null, until),
            _ => new DateFilter(field, from, until),
        };
        return null;
    }

    private const long TicksPerMicrosecond = 10;

    // As TypeRegistry's media types, with * allowed anywhere in either half.
    [GeneratedRegex(@"^[a-z0-9*][a-z0-9!#$&^_.+*-]{0,126}/[a-z0-9*][a-z0-9!#$&^_.+*-]{0,126}$", RegexOptions.IgnoreCase)]
    internal static partial Regex ContentTypePattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")]
    private static partial Regex IsoDateTime();
}
