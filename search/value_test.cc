#include "search/value.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sweep {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Value Parse(const char* json) { return Value::parse(json); }

// Checks ValuesEqual both ways and that CanonicalKey agrees with it.
void ExpectEqualValues(const Value& a, const Value& b) {
  EXPECT_TRUE(ValuesEqual(a, b)) << a.dump() << " vs " << b.dump();
  EXPECT_TRUE(ValuesEqual(b, a)) << b.dump() << " vs " << a.dump();
  EXPECT_EQ(CanonicalKey(a), CanonicalKey(b)) << a.dump() << " vs " << b.dump();
}

void ExpectDifferentValues(const Value& a, const Value& b) {
  EXPECT_FALSE(ValuesEqual(a, b)) << a.dump() << " vs " << b.dump();
  EXPECT_FALSE(ValuesEqual(b, a)) << b.dump() << " vs " << a.dump();
  EXPECT_NE(CanonicalKey(a), CanonicalKey(b)) << a.dump() << " vs " << b.dump();
}

TEST(ValuesEqualTest, IntegralFloatEqualsInteger) {
  ExpectEqualValues(Value(3000000.0), Value(3000000));
  ExpectEqualValues(Value(3.0), Value(3));
  ExpectEqualValues(Value(-7.0), Value(int64_t{-7}));
  ExpectEqualValues(Value(0.0), Value(0));
  ExpectEqualValues(Value(-0.0), Value(0));
  ExpectEqualValues(Value(-0.0), Value(0.0));
  ExpectEqualValues(Value(3.0), Value(uint64_t{3}));
  ExpectEqualValues(Value(uint64_t{5}), Value(int64_t{5}));
  // Parsed positive integers are unsigned; literals in code are signed.
  ExpectEqualValues(Parse("42"), Value(42));
  ExpectEqualValues(Parse("1e19"), Parse("10000000000000000000"));
}

TEST(ValuesEqualTest, IntegerAndFloatCompareExactly) {
  ExpectDifferentValues(Value(3.5), Value(3));
  ExpectDifferentValues(Value(0.1), Value(0));
  // 2^53 + 1 has no double; Python says 2**53 + 1 != 2.0**53.
  ExpectDifferentValues(Value(int64_t{9007199254740993}),
                        Value(9007199254740992.0));
  ExpectEqualValues(Value(int64_t{9007199254740992}),
                    Value(9007199254740992.0));
  ExpectDifferentValues(Value(std::numeric_limits<int64_t>::max()),
                        Value(9223372036854775808.0));
  ExpectEqualValues(Value(std::numeric_limits<int64_t>::min()),
                    Value(-9223372036854775808.0));
  ExpectDifferentValues(Value(std::numeric_limits<uint64_t>::max()),
                        Value(18446744073709551616.0));
  ExpectDifferentValues(Value(int64_t{-1}),
                        Value(uint64_t{0xFFFFFFFFFFFFFFFF}));
  ExpectDifferentValues(Value(1e300), Value(0));
}

TEST(ValuesEqualTest, BoolDiffersFromNumbers) {
  ExpectDifferentValues(Value(true), Value(1));
  ExpectDifferentValues(Value(true), Value(1.0));
  ExpectDifferentValues(Value(false), Value(0));
  ExpectDifferentValues(Value(false), Value(0.0));
  ExpectDifferentValues(Value(true), Value(false));
  ExpectEqualValues(Value(true), Value(true));
}

TEST(ValuesEqualTest, NullAndStrings) {
  ExpectEqualValues(Value(nullptr), Value(nullptr));
  ExpectDifferentValues(Value(nullptr), Value(0));
  ExpectDifferentValues(Value(nullptr), Value("None"));
  ExpectDifferentValues(Value(nullptr), Value(false));
  ExpectEqualValues(Value("adam"), Value("adam"));
  ExpectDifferentValues(Value("adam"), Value("Adam"));
  ExpectDifferentValues(Value("1"), Value(1));
  ExpectDifferentValues(Value("true"), Value(true));
  ExpectDifferentValues(Value(""), Value(nullptr));
}

TEST(ValuesEqualTest, NaNEqualsNaN) {
  ExpectEqualValues(Value(kNaN), Value(kNaN));
  ExpectEqualValues(Value(kNaN), Value(-kNaN));
  ExpectDifferentValues(Value(kNaN), Value(0.0));
  ExpectEqualValues(Value(kInf), Value(kInf));
  ExpectDifferentValues(Value(kInf), Value(-kInf));
  ExpectDifferentValues(Value(kInf),
                        Value(std::numeric_limits<int64_t>::max()));
}

TEST(ValuesEqualTest, ListsCompareElementwise) {
  ExpectEqualValues(Parse("[1, 2.0, true]"), Value::array({1.0, 2, true}));
  ExpectDifferentValues(Parse("[1, 2]"), Parse("[2, 1]"));
  ExpectDifferentValues(Parse("[1, 2]"), Parse("[1, 2, 3]"));
  ExpectDifferentValues(Parse("[1]"), Value(1));
  ExpectDifferentValues(Parse("[]"), Value(nullptr));
  ExpectDifferentValues(Parse("[]"), Parse("{}"));
  ExpectDifferentValues(Parse("[true]"), Parse("[1]"));
  ExpectEqualValues(Parse("[[1, [2]], []]"), Parse("[[1.0, [2.0]], []]"));
}

TEST(ValuesEqualTest, MappingKeyOrderDoesNotMatter) {
  ExpectEqualValues(Parse(R"({"lr": 0.1, "beta": 0.9})"),
                    Parse(R"({"beta": 0.9, "lr": 0.1})"));
  ExpectEqualValues(Parse(R"({"a": {"x": 1, "y": [2]}, "b": null})"),
                    Parse(R"({"b": null, "a": {"y": [2.0], "x": 1.0}})"));
  ExpectDifferentValues(Parse(R"({"a": 1})"), Parse(R"({"a": 1, "b": 2})"));
  ExpectDifferentValues(Parse(R"({"a": 1})"), Parse(R"({"b": 1})"));
  ExpectDifferentValues(Parse(R"({"a": true})"), Parse(R"({"a": 1})"));
  ExpectDifferentValues(Parse(R"({"a": 1})"), Parse("[1]"));
  ExpectEqualValues(Value::object({{"a", kNaN}, {"b", Value::array({kNaN})}}),
                    Value::object({{"b", Value::array({kNaN})}, {"a", kNaN}}));
}

TEST(CanonicalKeyTest, DistinguishesTypesAndContents) {
  const std::vector<Value> distinct = {
      Value(nullptr),
      Value(true),
      Value(false),
      Value(0),
      Value(1),
      Value(-1),
      Value(0.5),
      Value(kNaN),
      Value(kInf),
      Value(-kInf),
      Value(1e300),
      Value(""),
      Value("0"),
      Value("a,b"),
      Value("]"),
      Parse("[]"),
      Parse("{}"),
      Parse(R"(["a", "b"])"),
      Parse(R"(["a,b"])"),
      Parse(R"(["a", ["b"]])"),
      Parse(R"([["a"], "b"])"),
      Parse(R"({"a": "b"})"),
      Parse(R"({"ab": ""})"),
      Parse(R"({"a": {"b": 1}})"),
      Parse(R"({"a.b": 1})"),
      Parse(R"({"": 1})"),
  };
  for (size_t i = 0; i < distinct.size(); ++i) {
    for (size_t j = i + 1; j < distinct.size(); ++j) {
      ExpectDifferentValues(distinct[i], distinct[j]);
    }
  }
}

TEST(CanonicalKeyTest, StableForEqualValues) {
  EXPECT_EQ(CanonicalKey(Value(2.0)), CanonicalKey(Value(2)));
  EXPECT_EQ(CanonicalKey(Value(1e18)),
            CanonicalKey(Value(int64_t{1000000000000000000})));
  EXPECT_EQ(
      CanonicalKey(Parse(R"({"b": 1, "a": 2, "c": {"z": 0, "y": 1}})")),
      CanonicalKey(Parse(R"({"c": {"y": 1, "z": 0.0}, "a": 2.0, "b": 1})")));
  // Keys of different lengths.
  EXPECT_EQ(CanonicalKey(Parse(R"({"aaaaaaaaaa": 1, "b": 2})")),
            CanonicalKey(Parse(R"({"b": 2, "aaaaaaaaaa": 1})")));
}

struct FloatCase {
  double value;
  const char* repr;
};

TEST(PythonFloatReprTest, MatchesPythonRepr) {
  // Expected strings produced by CPython 3.11's repr().
  const FloatCase cases[] = {
      {0.001, "0.001"},
      {1e-05, "1e-05"},
      {3.0, "3.0"},
      {1e16, "1e+16"},
      {1.5e16, "1.5e+16"},
      {0.0001, "0.0001"},
      {123.0, "123.0"},
      {1e100, "1e+100"},
      {-0.0, "-0.0"},
      {0.0, "0.0"},
      {0.1, "0.1"},
      {1.0 / 3.0, "0.3333333333333333"},
      {0.1 + 0.2, "0.30000000000000004"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {2.5e-05, "2.5e-05"},
      {3e-05, "3e-05"},
      {9.9999e-05, "9.9999e-05"},
      {0.00012, "0.00012"},
      {-1e-07, "-1e-07"},
      {1e-100, "1e-100"},
      {123456789.123, "123456789.123"},
      {1234.5678, "1234.5678"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {9007199254740992.0, "9007199254740992.0"},
      {1e21, "1e+21"},
      {1e22, "1e+22"},
      {12345678901234567890.0, "1.2345678901234567e+19"},
      {6.02214076e23, "6.02214076e+23"},
      {100.0, "100.0"},
      {-1.5, "-1.5"},
      {0.5, "0.5"},
      {kNaN, "nan"},
      {-kNaN, "nan"},
      {kInf, "inf"},
      {-kInf, "-inf"},
  };
  for (const FloatCase& c : cases) {
    EXPECT_EQ(PythonFloatRepr(c.value), c.repr);
  }
}

TEST(PythonFloatReprTest, RoundTrips) {
  for (double x : {0.1, 1.0 / 7.0, 2.0 / 3.0 * 1e-9, 1e23, 4.35, 0.000123456}) {
    EXPECT_EQ(std::stod(PythonFloatRepr(x)), x) << PythonFloatRepr(x);
  }
}

TEST(PythonStrTest, Scalars) {
  EXPECT_EQ(PythonStr(Value(true)), "True");
  EXPECT_EQ(PythonStr(Value(false)), "False");
  EXPECT_EQ(PythonStr(Value(nullptr)), "None");
  EXPECT_EQ(PythonStr(Value(1)), "1");
  EXPECT_EQ(PythonStr(Value(int64_t{-42})), "-42");
  EXPECT_EQ(PythonStr(Value(uint64_t{18446744073709551615u})),
            "18446744073709551615");
  EXPECT_EQ(PythonStr(Value(3.0)), "3.0");
  EXPECT_EQ(PythonStr(Value(0.001)), "0.001");
  EXPECT_EQ(PythonStr(Value(1e-05)), "1e-05");
  EXPECT_EQ(PythonStr(Value(kNaN)), "nan");
  EXPECT_EQ(PythonStr(Value(-kInf)), "-inf");
  EXPECT_EQ(PythonStr(Value("adam")), "adam");
  EXPECT_EQ(PythonStr(Value("it's \"x\"\n")), "it's \"x\"\n");
  EXPECT_EQ(PythonStr(Value("")), "");
}

TEST(PythonStrTest, ContainersShowElementsWithRepr) {
  EXPECT_EQ(PythonStr(Parse(R"([1, "a", [2.0]])")), "[1, 'a', [2.0]]");
  EXPECT_EQ(PythonStr(Value::object(
                {{"lr", 0.001}, {"n", Value::object({{"a", true}})}})),
            "{'lr': 0.001, 'n': {'a': True}}");
  EXPECT_EQ(PythonStr(Parse(R"([null, "it's"])")), "[None, \"it's\"]");
  EXPECT_EQ(PythonStr(Parse("[]")), "[]");
  EXPECT_EQ(PythonStr(Parse("{}")), "{}");
  // Stored order, not sorted.
  EXPECT_EQ(PythonStr(Parse(R"({"z": 1, "a": [1e-05, false]})")),
            "{'z': 1, 'a': [1e-05, False]}");
}

TEST(PythonStrTest, WandbArgumentVector) {
  const Value config =
      Value::object({{"a", true}, {"b", false}, {"c", 1}, {"d", nullptr}});
  std::vector<std::string> args;
  for (const auto& [key, item] : config.items()) {
    args.push_back("--" + key + "=" + PythonStr(item));
  }
  EXPECT_EQ(args, (std::vector<std::string>{"--a=True", "--b=False", "--c=1",
                                            "--d=None"}));
  EXPECT_EQ(PythonJsonDumps(config),
            R"({"a": true, "b": false, "c": 1, "d": null})");
}

TEST(PythonReprTest, StringQuoting) {
  EXPECT_EQ(PythonRepr(Value("adam")), "'adam'");
  EXPECT_EQ(PythonRepr(Value("")), "''");
  EXPECT_EQ(PythonRepr(Value("it's")), "\"it's\"");
  EXPECT_EQ(PythonRepr(Value("say \"hi\"")), "'say \"hi\"'");
  EXPECT_EQ(PythonRepr(Value("both ' and \"")), "'both \\' and \"'");
  EXPECT_EQ(PythonRepr(Value("a\\b")), "'a\\\\b'");
  EXPECT_EQ(PythonRepr(Value("\n\t\r")), "'\\n\\t\\r'");
  EXPECT_EQ(PythonRepr(Value(std::string("\x01\x7f\x1b", 3))),
            "'\\x01\\x7f\\x1b'");
  EXPECT_EQ(PythonRepr(Value(std::string("nul\0!", 5))), "'nul\\x00!'");
}

TEST(PythonReprTest, NonAsciiKeptUnlessNonPrintable) {
  EXPECT_EQ(PythonRepr(Value("é 日本 😀")), "'é 日本 😀'");
  // U+0085 (control), U+00A0 (no-break space), U+00AD (soft hyphen),
  // U+2028 (line separator) and U+FEFF are not printable to Python.
  EXPECT_EQ(PythonRepr(Value("\u0085\u00a0\u00ad\u2028\ufeff")),
            "'\\x85\\xa0\\xad\\u2028\\ufeff'");
}

TEST(PythonReprTest, Scalars) {
  EXPECT_EQ(PythonRepr(Value(true)), "True");
  EXPECT_EQ(PythonRepr(Value(nullptr)), "None");
  EXPECT_EQ(PythonRepr(Value(7)), "7");
  EXPECT_EQ(PythonRepr(Value(1e16)), "1e+16");
  EXPECT_EQ(PythonRepr(Parse(R"({"opt": {"name": "sgd", "lr": 0.1}})")),
            "{'opt': {'name': 'sgd', 'lr': 0.1}}");
}

TEST(PythonJsonDumpsTest, ScalarsAndContainers) {
  EXPECT_EQ(PythonJsonDumps(Value(nullptr)), "null");
  EXPECT_EQ(PythonJsonDumps(Value(true)), "true");
  EXPECT_EQ(PythonJsonDumps(Value(int64_t{-3})), "-3");
  EXPECT_EQ(PythonJsonDumps(Value(3.0)), "3.0");
  EXPECT_EQ(PythonJsonDumps(Value(1e-05)), "1e-05");
  EXPECT_EQ(PythonJsonDumps(Value(1e16)), "1e+16");
  EXPECT_EQ(PythonJsonDumps(Value(kNaN)), "NaN");
  EXPECT_EQ(PythonJsonDumps(Value(kInf)), "Infinity");
  EXPECT_EQ(PythonJsonDumps(Value(-kInf)), "-Infinity");
  EXPECT_EQ(PythonJsonDumps(Parse("[]")), "[]");
  EXPECT_EQ(PythonJsonDumps(Parse("{}")), "{}");
  EXPECT_EQ(PythonJsonDumps(Parse(R"([1, [2.5, []], {"k": {}}])")),
            R"([1, [2.5, []], {"k": {}}])");
  // Stored order, not sorted.
  EXPECT_EQ(
      PythonJsonDumps(Parse(R"({"opt": {"lr": 0.1, "beta": 0.9}, "e": 10})")),
      R"({"opt": {"lr": 0.1, "beta": 0.9}, "e": 10})");
}

TEST(PythonJsonDumpsTest, StringsEscapedAsciiOnly) {
  EXPECT_EQ(PythonJsonDumps(Value("adam")), R"("adam")");
  EXPECT_EQ(PythonJsonDumps(Value("é 日本 😀")),
            R"("\u00e9 \u65e5\u672c \ud83d\ude00")");
  EXPECT_EQ(PythonJsonDumps(Value("\x01\x7f\b\f\"\\/")),
            R"("\u0001\u007f\b\f\"\\/")");
  EXPECT_EQ(PythonJsonDumps(Value("a\nb\tc\rd")), R"("a\nb\tc\rd")");
  EXPECT_EQ(PythonJsonDumps(Value("it's")), R"("it's")");
  EXPECT_EQ(PythonJsonDumps(Value::object({{"ключ", 1}})),
            R"({"\u043a\u043b\u044e\u0447": 1})");
}

TEST(DumpJsonTest, FormatsAsDumpDoesWithTheShortestFloats) {
  const Value v = Value::parse(R"({"a": 1, "b": [true, null, "x\u00e9\n"],
      "c": {}, "d": [], "e": {"f": -3, "g": [[]]}})");
  Value with_bad_utf8 = v;
  with_bad_utf8["h"] = std::string("ok \xff end");
  for (int indent : {-1, 0, 2, 4}) {
    EXPECT_EQ(DumpJson(with_bad_utf8, indent),
              with_bad_utf8.dump(indent, ' ', /*ensure_ascii=*/false,
                                 Value::error_handler_t::replace))
        << indent;
  }
  // dump writes 0.237636 as 0.23763599999999999.
  EXPECT_EQ(DumpJson(Value(0.237636)), "0.237636");
  EXPECT_EQ(DumpJson(Value(1.0)), "1.0");
  EXPECT_EQ(DumpJson(Value(1e-5)), "1e-05");
  EXPECT_EQ(DumpJson(Value(-2.5e300)), "-2.5e+300");
  EXPECT_EQ(DumpJson(Value(std::nan(""))), "null");
  EXPECT_EQ(DumpJson(Value::array({0.1, 0.237636}), 2),
            "[\n  0.1,\n  0.237636\n]");
  for (double d : {0.237636, 0.003932151718190492, 1e16, 5e-324,
                   1.7976931348623157e308, 123456.789}) {
    EXPECT_EQ(Value::parse(DumpJson(Value(d))).get<double>(), d) << d;
  }
}

}  // namespace
}  // namespace sweep
