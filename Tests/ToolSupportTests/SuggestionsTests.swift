import Testing
@testable import ToolSupport

@Suite("Suggestions: the one rule for 'did you mean'")
struct SuggestionsTests {
    @Test func nearestSpellingWithinTheLimit() {
        let options = ["--verbose", "--json", "--install-dir", "--dry-run", "--quiet"]
        #expect(Suggestions.closest(to: "--verbse", among: options) == ["--verbose"])
        #expect(Suggestions.closest(to: "--jsno", among: options) == ["--json"])
        #expect(Suggestions.closest(to: "--instal-dri", among: options) == ["--install-dir"])
        #expect(Suggestions.closest(to: "--frobnicate", among: options).isEmpty)
        #expect(Suggestions.closest(to: "--x", among: ["--v", "--q"]).isEmpty)
        #expect(Suggestions.closest(to: "satus", among: ["status", "setup", "secret"]) == ["status"])
        #expect(Suggestions.clause(for: "--verbse", among: options) == "; did you mean '--verbose'?")
        #expect(Suggestions.clause(for: "--nothing-like-it", among: options) == "")
    }

    @Test func swapsCountOnce() {
        #expect(Suggestions.editDistance(Array("verbsoe"), Array("verbose")) == 1)
        #expect(Suggestions.editDistance(Array(""), Array("abc")) == 3)
        #expect(Suggestions.editDistance(Array("kitten"), Array("sitting")) == 3)
    }
}
