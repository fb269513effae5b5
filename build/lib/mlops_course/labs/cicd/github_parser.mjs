// GitHub's own expression evaluator and workflow parser (@actions/expressions and
// @actions/workflow-parser) for mlops_course.labs.cicd.github_parser: one JSON request per
// line on stdin, one JSON answer per line on stdout, in order.
//
// Run as `node --input-type=module -e <this file>` in the npm prefix, so that the
// packages resolve from its node_modules. A value is read the way the workflow parser
// reads it at a place of the workflow, named by its schema definition ("job-if",
// "step-if", "string-steps-context", ...): that decides which contexts and functions it
// may use, and how `${{ }}` in a string becomes an expression.
import { register } from "node:module";
import { createInterface } from "node:readline";

// The workflow parser imports its schema JSON without `with { type: "json" }`, which Node
// refuses (actions/languageservices#387): add the attribute to JSON imports.
const jsonHook = `export async function load(url, context, nextLoad) {
  return nextLoad(url, url.endsWith(".json") ? { ...context, importAttributes: { type: "json" } } : context);
}`;
register("data:text/javascript," + encodeURIComponent(jsonHook));

const { Evaluator, Lexer, Parser, data } = await import("@actions/expressions");
const { TokenType } = await import("@actions/expressions/lexer");
const { truthy } = await import("@actions/expressions/result");
const { NoOperationTraceWriter } = await import("@actions/workflow-parser/templates/trace-writer");
const { isBasicExpression, isLiteral } = await import("@actions/workflow-parser/templates/tokens/type-guards");
const { splitAllowedContext } = await import("@actions/workflow-parser/templates/allowed-context");
const { YamlObjectReader } = await import("@actions/workflow-parser/workflows/yaml-object-reader");
const { TemplateContext, TemplateValidationErrors } = await import("@actions/workflow-parser/templates/template-context");
const { readTemplate } = await import("@actions/workflow-parser/templates/template-reader");
const { convertToIfCondition } = await import("@actions/workflow-parser/model/converter/if-condition");
const { getWorkflowSchema } = await import("@actions/workflow-parser/workflows/workflow-schema");

// The replay assumes that the jobs in `needs` and the earlier steps succeeded.
const STATUS = { success: true, always: true, failure: false, cancelled: false };
const FUNCTIONS = new Map(
  Object.entries(STATUS).map(([name, value]) => [
    name,
    { name, minArgs: 0, maxArgs: Number.MAX_SAFE_INTEGER, call: () => new data.BooleanData(value) }
  ])
);
// No files are checked out: hashFiles() gives a fixed stand-in hash.
FUNCTIONS.set("hashfiles", { name: "hashFiles", minArgs: 1, maxArgs: 255, call: () => new data.StringData("0".repeat(64)) });

class Rejected extends Error {}

function newContext() {
  return new TemplateContext(new TemplateValidationErrors(), getWorkflowSchema(), new NoOperationTraceWriter());
}

function throwErrors(context) {
  const errors = context.errors.getErrors();
  if (errors.length) {
    throw new Rejected(errors.map(e => e.rawMessage).join("; "));
  }
}

// A YAML value (string, number, boolean or null) read as the parser reads it at `definition`.
function readValue(context, value, definition) {
  const fileId = context.getFileId("value");
  const token = readTemplate(context, definition, new YamlObjectReader(fileId, JSON.stringify(value)), fileId);
  throwErrors(context);
  return token;
}

// The lexer of @actions/expressions 0.3.61 unescapes only the first '' of a string
// literal (String.replace with a string), and the reader escapes every quote of the text
// around `${{ }}` that way, so `echo '${{ matrix.v }}'` would keep a doubled quote. GitHub's
// runner unescapes them all: rebuild each string literal's value from its lexeme.
function lex(expression) {
  const tokens = new Lexer(expression).lex().tokens;
  for (const token of tokens) {
    if (token.type === TokenType.STRING) {
      token.value = token.lexeme.slice(1, -1).replaceAll("''", "'");
    }
  }
  return tokens;
}

// Parse errors name the expression; errors while evaluating (a bad format string,
// invalid JSON for fromJSON) are the expression's fault too. A TypeError is a bug here.
function evaluate(expression, definition, contexts) {
  const allowed = getWorkflowSchema().getDefinition(definition).readerContext;
  const { namedContexts, functions } = splitAllowedContext(allowed);
  if (!expression.trim()) {
    throw new Rejected("An expression was expected");
  }
  try {
    const tree = new Parser(lex(expression), namedContexts, functions).parse();
    const values = JSON.parse(JSON.stringify(contexts ?? {}), data.reviver);
    for (const name of namedContexts) {
      values.add(name, new data.Dictionary()); // a context not given is empty (add keeps a given one)
    }
    return new Evaluator(tree, values, FUNCTIONS).evaluate();
  } catch (err) {
    throw err instanceof TypeError ? err : new Rejected(err.message);
  }
}

// A token's value: a literal as it is, an expression evaluated.
function tokenValue(token, definition, contexts) {
  if (isBasicExpression(token)) {
    return evaluate(token.expression, definition, contexts);
  }
  if (isLiteral(token)) {
    return data.reviver("", token.value ?? null);
  }
  throw new Rejected(`expected a single value, found ${token.toString()}`);
}

const OPERATIONS = {
  // A bare expression, as in `if:` (no status function is added).
  expression: ({ text, definition, contexts }) => evaluate(text, definition, contexts),
  // A value of the workflow: `${{ }}` anywhere in a string is evaluated.
  value: ({ value, definition, contexts }) => tokenValue(readValue(newContext(), value, definition), definition, contexts),
  // The same, as the string the runner hands to a script or an action.
  string: ({ value, definition, contexts }) =>
    new data.StringData(tokenValue(readValue(newContext(), value, definition), definition, contexts).coerceString()),
  // An `if:` condition: without a status function it means `success() && (...)`.
  condition: ({ value, definition, contexts }) => {
    const context = newContext();
    const condition = convertToIfCondition(context, readValue(context, value ?? "", definition));
    throwErrors(context);
    return new data.BooleanData(truthy(evaluate(condition.expression, definition, contexts)));
  },
  // What the workflow parser reports about a whole workflow file.
  workflow_errors: async ({ text, name }) => {
    // The whole parser loads in about 0.2 s more: only when a workflow is checked.
    const { convertWorkflowTemplate, parseWorkflow } = await import("@actions/workflow-parser");
    const parsed = parseWorkflow({ name, content: text }, new NoOperationTraceWriter());
    const errors = parsed.context.errors.getErrors().map(e => e.message);
    if (parsed.value !== undefined && !errors.length) {
      const template = await convertWorkflowTemplate(parsed.context, parsed.value);
      errors.push(...(template.errors ?? []).map(e => e.Message));
    }
    return errors;
  }
};

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let answer;
  try {
    const request = JSON.parse(line);
    const result = await OPERATIONS[request.op](request);
    answer = { value: result };
  } catch (err) {
    answer = err instanceof Rejected ? { error: err.message } : { error: String(err?.stack ?? err), crash: true };
  }
  process.stdout.write(JSON.stringify(answer, data.replacer) + "\n");
}
