namespace OrleansMQ.Gateway.Security;

/// <summary>Glob matching for access rule patterns: <c>*</c> matches any run of characters (dots included), <c>?</c> one character.</summary>
internal static class Glob
{
    public static bool IsMatch(string pattern, string name)
    {
        // Iterative matching with one backtrack point per '*': linear in practice, no regex, no catastrophic backtracking.
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
