//! The formula language of `formula` leaves: a small expression language that is parsed and
//! checked once when the index set is loaded, then evaluated exactly with decimals by walking
//! its syntax tree. It is never run as code (see docs/index-set-format.md, "Formula language").

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::iter::Peekable;
use std::str::CharIndices;

use rust_decimal::Decimal;

/// The deepest nesting accepted. Parentheses, function calls and unary minus each open a level.
pub const MAX_DEPTH: usize = 64;
/// The longest source accepted, in characters.
pub const MAX_CHARS: usize = 2000;
/// The most tokens (numbers, names, operators, parentheses, separators) accepted.
pub const MAX_TOKENS: usize = 500;

/// Why a formula was refused or could not be computed. The message is Vietnamese, for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormulaError {
    /// `position` counts characters from 1.
    #[error("Lỗi cú pháp ở vị trí {position}: {message}")]
    Syntax { position: usize, message: String },
    #[error("Biến «{0}» chưa được khai báo")]
    UndeclaredVariable(String),
    #[error("Không có hàm «{0}» (chỉ dùng được min, max và if)")]
    UnknownFunction(String),
    #[error("Hàm «{function}» cần {expected} đối số, nhưng có {found}")]
    WrongArity {
        function: String,
        expected: Arity,
        found: usize,
    },
    #[error("Công thức lồng quá sâu (tối đa {} cấp)", MAX_DEPTH)]
    TooDeep,
    #[error("Công thức quá dài (tối đa {} ký tự)", MAX_CHARS)]
    TooLong,
    #[error("Công thức quá dài (tối đa {} thành phần)", MAX_TOKENS)]
    TooManyTokens,
    #[error("Chưa có giá trị cho biến «{0}»")]
    MissingValue(String),
    #[error("Công thức chia cho 0 (mẫu số bằng 0)")]
    DivisionByZero,
    #[error("Kết quả vượt quá giới hạn số có thể tính (tràn số)")]
    Overflow,
}

/// How many arguments a function takes, as told to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arity::Exactly(n) => write!(f, "đúng {n}"),
            Arity::AtLeast(n) => write!(f, "ít nhất {n}"),
        }
    }
}

fn syntax(position: usize, message: impl Into<String>) -> FormulaError {
    FormulaError::Syntax {
        position,
        message: message.into(),
    }
}

/// A parsed and checked formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formula {
    source: String,
    expr: Expr,
    variables: BTreeSet<String>,
}

impl Formula {
    /// Parses and checks: syntax, every variable declared, nesting ≤ 64 levels, source ≤ 2000
    /// chars, ≤ 500 tokens.
    ///
    /// The source is read left to right and the first problem met is reported; the limits are
    /// checked as they are reached, so a huge or absurdly nested input is refused after reading
    /// at most [`MAX_CHARS`] characters and at most [`MAX_DEPTH`] levels of recursion.
    pub fn parse(source: &str, declared: &[&str]) -> Result<Formula, FormulaError> {
        let mut parser = Parser {
            lexer: Lexer::new(source),
            lookahead: None,
            depth: 0,
            declared,
            variables: BTreeSet::new(),
        };
        if parser.peek()?.kind == Tok::End {
            return Err(syntax(1, "Công thức trống"));
        }
        let expr = parser.expression()?;
        let token = parser.advance()?;
        let message = match token.kind {
            Tok::End => None,
            Tok::Close => Some("Thừa «)» (không có «(» tương ứng)".to_string()),
            Tok::Separator => Some(SEPARATOR_OUTSIDE_CALL.to_string()),
            _ => Some(format!(
                "Thiếu phép toán trước «{}»",
                parser.lexer.text(&token)
            )),
        };
        if let Some(message) = message {
            return Err(syntax(token.position, message));
        }
        Ok(Formula {
            source: source.to_string(),
            expr,
            variables: parser.variables,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables the expression refers to (all of them declared, as `parse` checked).
    pub fn variables_used(&self) -> BTreeSet<String> {
        self.variables.clone()
    }

    /// Exact evaluation with rust_decimal. Missing variable, division by zero, overflow →
    /// FormulaError (never a panic).
    ///
    /// Only the chosen branch of `if` is evaluated, so `if(b > 0, a / b, 1)` never divides by
    /// zero. Division keeps rust_decimal's 28 significant digits (1 ÷ 3 is rounded there).
    pub fn eval(&self, vars: &BTreeMap<String, Decimal>) -> Result<Decimal, FormulaError> {
        let value = self.expr.eval(vars)?;
        // `-0` is a distinct Decimal bit pattern; nobody should ever see "-0" in a score.
        Ok(if value.is_zero() {
            Decimal::ZERO
        } else {
            value
        })
    }

    /// The variables the formula divides by without a guard: a divisor that can be 0 when
    /// the unit enters 0 (`a / b`), outside an `if` whose condition tests one of the
    /// divisor's variables (`if(b > 0, a / b, 1)`), and not kept away from 0 by `max` with a
    /// positive number (`a / max(b, 1)`). With such a formula a unit that truthfully enters
    /// b = 0 gets no score at all, so validation warns about it.
    pub fn unguarded_divisors(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.expr.unguarded_divisors(&BTreeSet::new(), &mut out);
        out
    }

    /// The expression with values substituted, for explanations: `min(1, a / b) * 1` with
    /// a = 30 and b = 40 reads "min(1; 30 ÷ 40) × 1". Numbers use a decimal comma, so
    /// arguments are separated by "; "; a variable without a value is shown by its name.
    pub fn explain(&self, vars: &BTreeMap<String, Decimal>) -> String {
        let mut out = String::new();
        self.expr.render(vars, true, &mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

/// A node of the syntax tree. Its height is bounded by construction: between two nodes that
/// open a nesting level (`Group`, `Neg`, `Extremum`, `If`) there are at most a comparison and
/// two chains, so the tree is at most 4 × (MAX_DEPTH + 1) nodes high and evaluating,
/// rendering and dropping it can recurse without risking the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Number(Decimal),
    Variable(String),
    /// Parentheses the author wrote, kept so that explanations read like the source.
    Group(Box<Expr>),
    Neg(Box<Expr>),
    /// `a + b - c` or `a * b / c`: a left-associative run of one precedence level, kept flat so
    /// that a long sum does not make a deep tree.
    Chain {
        first: Box<Expr>,
        rest: Vec<(BinOp, Expr)>,
    },
    Compare {
        op: CmpOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Extremum {
        kind: Extremum,
        first: Box<Expr>,
        rest: Vec<Expr>,
    },
    If {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extremum {
    Min,
    Max,
}

impl BinOp {
    fn apply(self, a: Decimal, b: Decimal) -> Result<Decimal, FormulaError> {
        let result = match self {
            BinOp::Add => a.checked_add(b),
            BinOp::Sub => a.checked_sub(b),
            BinOp::Mul => a.checked_mul(b),
            BinOp::Div if b.is_zero() => return Err(FormulaError::DivisionByZero),
            BinOp::Div => a.checked_div(b),
        };
        result.ok_or(FormulaError::Overflow)
    }

    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "−",
            BinOp::Mul => "×",
            BinOp::Div => "÷",
        }
    }
}

impl CmpOp {
    fn holds(self, a: Decimal, b: Decimal) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "≤",
            CmpOp::Gt => ">",
            CmpOp::Ge => "≥",
            CmpOp::Eq => "=",
            CmpOp::Ne => "≠",
        }
    }
}

impl Extremum {
    fn name(self) -> &'static str {
        match self {
            Extremum::Min => "min",
            Extremum::Max => "max",
        }
    }
}

impl Expr {
    /// Every variable the expression mentions.
    fn variables(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Number(_) => {}
            Expr::Variable(name) => {
                out.insert(name.clone());
            }
            Expr::Group(inner) | Expr::Neg(inner) => inner.variables(out),
            Expr::Chain { first, rest } => {
                first.variables(out);
                for (_, e) in rest {
                    e.variables(out);
                }
            }
            Expr::Compare { lhs, rhs, .. } => {
                lhs.variables(out);
                rhs.variables(out);
            }
            Expr::Extremum { first, rest, .. } => {
                first.variables(out);
                for e in rest {
                    e.variables(out);
                }
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => {
                condition.variables(out);
                then.variables(out);
                otherwise.variables(out);
            }
        }
    }

    /// A divisor that can never be 0: a non-zero number, or `max(…)` with a positive number
    /// among its arguments.
    fn never_zero(&self) -> bool {
        match self {
            Expr::Number(n) => !n.is_zero(),
            Expr::Group(inner) | Expr::Neg(inner) => inner.never_zero(),
            Expr::Extremum {
                kind: Extremum::Max,
                first,
                rest,
            } => std::iter::once(first.as_ref())
                .chain(rest.iter())
                .any(|e| matches!(e, Expr::Number(n) if n.is_sign_positive() && !n.is_zero())),
            _ => false,
        }
    }

    /// Collects into `out` the variables of divisors not guarded (see
    /// [`Formula::unguarded_divisors`]); `guarded` holds the variables tested by the
    /// conditions of the enclosing `if`s.
    fn unguarded_divisors(&self, guarded: &BTreeSet<String>, out: &mut BTreeSet<String>) {
        match self {
            Expr::Number(_) | Expr::Variable(_) => {}
            Expr::Group(inner) | Expr::Neg(inner) => inner.unguarded_divisors(guarded, out),
            Expr::Chain { first, rest } => {
                first.unguarded_divisors(guarded, out);
                for (op, operand) in rest {
                    operand.unguarded_divisors(guarded, out);
                    if *op == BinOp::Div && !operand.never_zero() {
                        let mut used = BTreeSet::new();
                        operand.variables(&mut used);
                        if used.is_disjoint(guarded) {
                            out.extend(used);
                        }
                    }
                }
            }
            Expr::Compare { lhs, rhs, .. } => {
                lhs.unguarded_divisors(guarded, out);
                rhs.unguarded_divisors(guarded, out);
            }
            Expr::Extremum { first, rest, .. } => {
                first.unguarded_divisors(guarded, out);
                for e in rest {
                    e.unguarded_divisors(guarded, out);
                }
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => {
                condition.unguarded_divisors(guarded, out);
                let mut inner = guarded.clone();
                condition.variables(&mut inner);
                then.unguarded_divisors(&inner, out);
                otherwise.unguarded_divisors(&inner, out);
            }
        }
    }

    fn eval(&self, vars: &BTreeMap<String, Decimal>) -> Result<Decimal, FormulaError> {
        match self {
            Expr::Number(value) => Ok(*value),
            Expr::Variable(name) => vars
                .get(name)
                .copied()
                .ok_or_else(|| FormulaError::MissingValue(name.clone())),
            Expr::Group(inner) => inner.eval(vars),
            // Decimal is sign and magnitude, so negation cannot overflow.
            Expr::Neg(inner) => Ok(-inner.eval(vars)?),
            Expr::Chain { first, rest } => {
                let mut acc = first.eval(vars)?;
                for (op, operand) in rest {
                    acc = op.apply(acc, operand.eval(vars)?)?;
                }
                Ok(acc)
            }
            Expr::Compare { op, lhs, rhs } => {
                let holds = op.holds(lhs.eval(vars)?, rhs.eval(vars)?);
                Ok(if holds { Decimal::ONE } else { Decimal::ZERO })
            }
            Expr::Extremum { kind, first, rest } => {
                let mut acc = first.eval(vars)?;
                for arg in rest {
                    let value = arg.eval(vars)?;
                    acc = match kind {
                        Extremum::Min => acc.min(value),
                        Extremum::Max => acc.max(value),
                    };
                }
                Ok(acc)
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => {
                if condition.eval(vars)?.is_zero() {
                    otherwise.eval(vars)
                } else {
                    then.eval(vars)
                }
            }
        }
    }

    /// Writes the expression with values substituted. `bare` is true where a negative value
    /// needs no parentheses (the whole expression, an argument, inside parentheses, the first
    /// operand); elsewhere "2 × (−3)" reads better than "2 × −3".
    fn render(&self, vars: &BTreeMap<String, Decimal>, bare: bool, out: &mut String) {
        match self {
            Expr::Number(value) => render_value(*value, bare, out),
            Expr::Variable(name) => match vars.get(name) {
                Some(value) => render_value(*value, bare, out),
                None => out.push_str(name),
            },
            Expr::Group(inner) => {
                out.push('(');
                inner.render(vars, true, out);
                out.push(')');
            }
            Expr::Neg(inner) => {
                out.push('−');
                inner.render(vars, false, out);
            }
            Expr::Chain { first, rest } => {
                first.render(vars, bare, out);
                for (op, operand) in rest {
                    out.push(' ');
                    out.push_str(op.symbol());
                    out.push(' ');
                    operand.render(vars, false, out);
                }
            }
            Expr::Compare { op, lhs, rhs } => {
                lhs.render(vars, bare, out);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                rhs.render(vars, false, out);
            }
            Expr::Extremum { kind, first, rest } => {
                render_call(kind.name(), [&**first].into_iter().chain(rest), vars, out);
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => render_call("if", [&**condition, then, otherwise], vars, out),
        }
    }
}

fn render_call<'e>(
    name: &str,
    args: impl IntoIterator<Item = &'e Expr>,
    vars: &BTreeMap<String, Decimal>,
    out: &mut String,
) {
    out.push_str(name);
    out.push('(');
    for (i, arg) in args.into_iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        arg.render(vars, true, out);
    }
    out.push(')');
}

/// "0,75", "30", "−1,5": trailing zeros dropped, decimal comma, a true minus sign.
fn render_value(value: Decimal, bare: bool, out: &mut String) {
    let digits = value.normalize().abs().to_string().replace('.', ",");
    if value.is_sign_negative() && !value.is_zero() {
        if bare {
            out.push('−');
            out.push_str(&digits);
        } else {
            out.push_str("(−");
            out.push_str(&digits);
            out.push(')');
        }
    } else {
        out.push_str(&digits);
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Number(Decimal),
    Name(String),
    Plus,
    Minus,
    Times,
    Divide,
    Open,
    Close,
    Separator,
    Compare(CmpOp),
    End,
}

#[derive(Debug)]
struct Token {
    kind: Tok,
    /// Characters from 1, for messages.
    position: usize,
    /// Byte range in the source, to quote the token in messages.
    start: usize,
    end: usize,
}

/// Vietnamese users write decimals with a comma; here the comma separates arguments.
const SEPARATOR_OUTSIDE_CALL: &str = "Dấu «,» hoặc «;» chỉ dùng để ngăn cách đối số của hàm; \
     số thập phân viết bằng dấu chấm (0.5)";

/// Produces tokens on demand, so that the length limits stop reading a huge input early.
struct Lexer<'a> {
    source: &'a str,
    chars: Peekable<CharIndices<'a>>,
    /// Characters consumed so far.
    consumed: usize,
    tokens: usize,
}

impl<'a> Lexer<'a> {
    fn new(source: &'a str) -> Self {
        Lexer {
            source,
            chars: source.char_indices().peekable(),
            consumed: 0,
            tokens: 0,
        }
    }

    /// The next character, refusing to look past the character limit.
    fn peek_char(&mut self) -> Result<Option<char>, FormulaError> {
        match self.chars.peek() {
            None => Ok(None),
            Some(_) if self.consumed >= MAX_CHARS => Err(FormulaError::TooLong),
            Some(&(_, c)) => Ok(Some(c)),
        }
    }

    fn bump(&mut self) {
        if self.chars.next().is_some() {
            self.consumed += 1;
        }
    }

    fn eat(&mut self, expected: char) -> Result<bool, FormulaError> {
        if self.peek_char()? == Some(expected) {
            self.bump();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn byte_offset(&mut self) -> usize {
        self.chars.peek().map_or(self.source.len(), |&(i, _)| i)
    }

    fn text(&self, token: &Token) -> &'a str {
        &self.source[token.start..token.end]
    }

    fn next_token(&mut self) -> Result<Token, FormulaError> {
        while let Some(c) = self.peek_char()? {
            if !c.is_whitespace() {
                break;
            }
            self.bump();
        }
        let position = self.consumed + 1;
        let start = self.byte_offset();
        let Some(c) = self.peek_char()? else {
            return Ok(Token {
                kind: Tok::End,
                position,
                start,
                end: start,
            });
        };
        self.tokens += 1;
        if self.tokens > MAX_TOKENS {
            return Err(FormulaError::TooManyTokens);
        }
        self.bump();
        let kind = match c {
            '+' => Tok::Plus,
            '-' | '−' => Tok::Minus,
            '*' | '×' => Tok::Times,
            '/' | '÷' => Tok::Divide,
            '(' => Tok::Open,
            ')' => Tok::Close,
            ',' | ';' => Tok::Separator,
            '<' if self.eat('=')? => Tok::Compare(CmpOp::Le),
            '<' => Tok::Compare(CmpOp::Lt),
            '>' if self.eat('=')? => Tok::Compare(CmpOp::Ge),
            '>' => Tok::Compare(CmpOp::Gt),
            '=' if self.eat('=')? => Tok::Compare(CmpOp::Eq),
            '=' => return Err(syntax(position, "Dùng «==» để so sánh bằng")),
            '!' if self.eat('=')? => Tok::Compare(CmpOp::Ne),
            '!' => return Err(syntax(position, "Dùng «!=» để so sánh khác")),
            '0'..='9' => self.number(start)?,
            'a'..='z' => {
                while let Some('a'..='z' | '0'..='9' | '_') = self.peek_char()? {
                    self.bump();
                }
                let end = self.byte_offset();
                Tok::Name(self.source[start..end].to_string())
            }
            c if c.is_alphabetic() => {
                return Err(syntax(
                    position,
                    format!(
                        "Ký tự «{c}» không dùng được: tên biến bắt đầu bằng chữ thường \
                         không dấu (a–z), sau đó là chữ thường không dấu, chữ số hoặc «_»"
                    ),
                ));
            }
            c => return Err(syntax(position, format!("Ký tự «{c}» không hợp lệ"))),
        };
        let end = self.byte_offset();
        Ok(Token {
            kind,
            position,
            start,
            end,
        })
    }

    /// A decimal literal `123` or `1.25`; the first digit is already consumed.
    fn number(&mut self, start: usize) -> Result<Tok, FormulaError> {
        self.digits()?;
        if self.peek_char()? == Some('.') {
            let dot = self.consumed + 1;
            self.bump();
            if !matches!(self.peek_char()?, Some('0'..='9')) {
                return Err(syntax(dot, "Sau dấu «.» phải có chữ số"));
            }
            self.digits()?;
        }
        let end = self.byte_offset();
        let text = &self.source[start..end];
        // "min(a, 0,5)" would silently read as min(a; 0; 5) when 0.5 was meant; a comma
        // squeezed between digits is refused so that the author says which one they mean.
        if self.peek_char()? == Some(',') {
            let mut ahead = self.chars.clone();
            ahead.next();
            if let Some((_, '0'..='9')) = ahead.peek() {
                return Err(syntax(
                    self.consumed + 1,
                    format!(
                        "«{text},…» không rõ nghĩa: số thập phân viết bằng dấu chấm ({text}.5); \
                         nếu là hai đối số, thêm dấu cách sau dấu phẩy ({text}, 5)"
                    ),
                ));
            }
        }
        // Exact: a literal with more digits than a Decimal holds is refused, not rounded.
        let value = Decimal::from_str_exact(text).map_err(|_| {
            syntax(
                self.consumed - text.len() + 1,
                format!("Số «{text}» có quá nhiều chữ số"),
            )
        })?;
        Ok(Tok::Number(value))
    }

    fn digits(&mut self) -> Result<(), FormulaError> {
        while let Some('0'..='9') = self.peek_char()? {
            self.bump();
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Parser
//
//   expression     = additive [ comparison additive ]      (comparisons do not chain)
//   additive       = multiplicative { ("+" | "-") multiplicative }
//   multiplicative = unary { ("*" | "/") unary }
//   unary          = "-" unary | primary
//   primary        = number | name | name "(" [ expression { sep expression } ] ")"
//                  | "(" expression ")"

struct Parser<'a, 'd> {
    lexer: Lexer<'a>,
    lookahead: Option<Token>,
    /// Current nesting; every recursion of the descent goes through `enter`, so the call
    /// stack is bounded by MAX_DEPTH whatever the input.
    depth: usize,
    declared: &'d [&'d str],
    variables: BTreeSet<String>,
}

impl Parser<'_, '_> {
    fn peek(&mut self) -> Result<&Token, FormulaError> {
        let token = match self.lookahead.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.lookahead.insert(token))
    }

    fn advance(&mut self) -> Result<Token, FormulaError> {
        match self.lookahead.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    fn enter(&mut self) -> Result<(), FormulaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FormulaError::TooDeep);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn unexpected(&self, token: &Token, expected: &str) -> FormulaError {
        let message = match token.kind {
            Tok::End => format!("{expected}, nhưng công thức đã hết"),
            _ => format!("{expected}, nhưng gặp «{}»", self.lexer.text(token)),
        };
        syntax(token.position, message)
    }

    fn expression(&mut self) -> Result<Expr, FormulaError> {
        let lhs = self.additive()?;
        let Tok::Compare(op) = self.peek()?.kind else {
            return Ok(lhs);
        };
        self.advance()?;
        let rhs = self.additive()?;
        let next = self.peek()?;
        if let Tok::Compare(_) = next.kind {
            return Err(syntax(
                next.position,
                "Không nối tiếp hai phép so sánh (như a < b < c); hãy dùng ngoặc",
            ));
        }
        Ok(Expr::Compare {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        })
    }

    fn additive(&mut self) -> Result<Expr, FormulaError> {
        let first = self.multiplicative()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek()?.kind {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => break,
            };
            self.advance()?;
            rest.push((op, self.multiplicative()?));
        }
        Ok(chain(first, rest))
    }

    fn multiplicative(&mut self) -> Result<Expr, FormulaError> {
        let first = self.unary()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek()?.kind {
                Tok::Times => BinOp::Mul,
                Tok::Divide => BinOp::Div,
                _ => break,
            };
            self.advance()?;
            rest.push((op, self.unary()?));
        }
        Ok(chain(first, rest))
    }

    fn unary(&mut self) -> Result<Expr, FormulaError> {
        if self.peek()?.kind != Tok::Minus {
            return self.primary();
        }
        self.advance()?;
        self.enter()?;
        let operand = self.unary()?;
        self.leave();
        Ok(Expr::Neg(Box::new(operand)))
    }

    fn primary(&mut self) -> Result<Expr, FormulaError> {
        let token = self.advance()?;
        match token.kind {
            Tok::Number(value) => Ok(Expr::Number(value)),
            Tok::Open => {
                self.enter()?;
                let inner = self.expression()?;
                self.close(token.position, None)?;
                self.leave();
                Ok(Expr::Group(Box::new(inner)))
            }
            Tok::Name(ref name) if self.peek()?.kind == Tok::Open => self.call(name.clone()),
            Tok::Name(name) => {
                if function_arity(&name).is_some() {
                    return Err(syntax(
                        token.position,
                        format!("Sau tên hàm «{name}» phải có «(»"),
                    ));
                }
                if !self.declared.contains(&name.as_str()) {
                    return Err(FormulaError::UndeclaredVariable(name));
                }
                self.variables.insert(name.clone());
                Ok(Expr::Variable(name))
            }
            _ => Err(self.unexpected(&token, "Thiếu số, biến hoặc «(»")),
        }
    }

    /// Consumes the `)` closing a group opened at `open`, or, in a call, a separator too
    /// (returning whether it was a separator).
    fn close(&mut self, open: usize, function: Option<&str>) -> Result<bool, FormulaError> {
        let token = self.advance()?;
        match (&token.kind, function) {
            (Tok::Close, _) => Ok(false),
            (Tok::Separator, Some(_)) => Ok(true),
            (Tok::Separator, None) => Err(syntax(token.position, SEPARATOR_OUTSIDE_CALL)),
            (Tok::End, _) => Err(syntax(
                token.position,
                format!("Thiếu «)» để đóng «(» ở vị trí {open}"),
            )),
            (_, Some(name)) => Err(self.unexpected(
                &token,
                &format!("Thiếu phép toán, «,» hoặc «)» trong hàm «{name}»"),
            )),
            (_, None) => Err(self.unexpected(&token, "Thiếu phép toán hoặc «)»")),
        }
    }

    /// `name(args…)`; the `(` has not been consumed yet.
    fn call(&mut self, name: String) -> Result<Expr, FormulaError> {
        let Some(expected) = function_arity(&name) else {
            if self.declared.contains(&name.as_str()) {
                let position = self.peek()?.position;
                return Err(syntax(
                    position,
                    format!("Thiếu phép toán giữa «{name}» và «(»"),
                ));
            }
            return Err(FormulaError::UnknownFunction(name));
        };
        let open = self.advance()?.position;
        self.enter()?;
        let mut args = Vec::new();
        if self.peek()?.kind == Tok::Close {
            self.advance()?;
        } else {
            loop {
                args.push(self.expression()?);
                if !self.close(open, Some(&name))? {
                    break;
                }
            }
        }
        self.leave();
        let wrong_arity = |found| FormulaError::WrongArity {
            function: name.clone(),
            expected,
            found,
        };
        if matches!(expected, Arity::AtLeast(n) if args.len() < n) {
            return Err(wrong_arity(args.len()));
        }
        if name == "if" {
            let [condition, then, otherwise] =
                <[Expr; 3]>::try_from(args).map_err(|args| wrong_arity(args.len()))?;
            return Ok(Expr::If {
                condition: Box::new(condition),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            });
        }
        let kind = if name == "min" {
            Extremum::Min
        } else {
            Extremum::Max
        };
        let mut args = args.into_iter();
        let first = args.next().ok_or_else(|| wrong_arity(0))?;
        Ok(Expr::Extremum {
            kind,
            first: Box::new(first),
            rest: args.collect(),
        })
    }
}

fn function_arity(name: &str) -> Option<Arity> {
    match name {
        "min" | "max" => Some(Arity::AtLeast(2)),
        "if" => Some(Arity::Exactly(3)),
        _ => None,
    }
}

fn chain(first: Expr, rest: Vec<(BinOp, Expr)>) -> Expr {
    if rest.is_empty() {
        first
    } else {
        Expr::Chain {
            first: Box::new(first),
            rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, Decimal> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), d(value)))
            .collect()
    }

    const ABC: &[&str] = &["a", "b", "c"];

    /// Evaluates `source` over a = 10, b = 4, c = 2.
    fn calc(source: &str) -> Result<Decimal, FormulaError> {
        Formula::parse(source, ABC)?.eval(&vars(&[("a", "10"), ("b", "4"), ("c", "2")]))
    }

    fn syntax_position(source: &str) -> usize {
        match Formula::parse(source, ABC) {
            Err(FormulaError::Syntax { position, .. }) => position,
            other => panic!("{source:?}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn precedence_and_left_associativity() {
        assert_eq!(calc("a - b - c"), Ok(d("4")));
        assert_eq!(calc("a / b / c"), Ok(d("1.25")));
        assert_eq!(calc("a - b + c"), Ok(d("8")));
        assert_eq!(calc("a / b * c"), Ok(d("5")));
        assert_eq!(calc("a + b * c"), Ok(d("18")));
        assert_eq!(calc("(a + b) * c"), Ok(d("28")));
        assert_eq!(calc("a - (b - c)"), Ok(d("8")));
        assert_eq!(calc("1 + 2 * 3 - 4 / 2"), Ok(d("5")));
        // Comparison binds loosest of all.
        assert_eq!(calc("a + 1 > b * 2"), Ok(d("1")));
        assert_eq!(calc("0.1 + 0.2 == 0.3"), Ok(d("1")));
    }

    #[test]
    fn unary_minus() {
        assert_eq!(calc("-a"), Ok(d("-10")));
        assert_eq!(calc("--a"), Ok(d("10")));
        assert_eq!(calc("- - -a"), Ok(d("-10")));
        assert_eq!(calc("a - -b"), Ok(d("14")));
        assert_eq!(calc("-b * c"), Ok(d("-8")));
        assert_eq!(calc("c * -b"), Ok(d("-8")));
        assert_eq!(calc("-(a - b)"), Ok(d("-6")));
        assert_eq!(calc("-a < 0"), Ok(d("1")));
        // Never "-0".
        assert_eq!(calc("-0").unwrap().to_string(), "0");
        assert_eq!(calc("0 * -a").unwrap().to_string(), "0");
    }

    #[test]
    fn functions() {
        assert_eq!(calc("min(a, b)"), Ok(d("4")));
        assert_eq!(calc("min(a, b, c, 3)"), Ok(d("2")));
        assert_eq!(calc("max(a, b)"), Ok(d("10")));
        assert_eq!(calc("max(-a, -b; -c)"), Ok(d("-2")));
        assert_eq!(calc("min(1, a / b) * 1"), Ok(d("1")));
        assert_eq!(calc("min(1; b / a)"), Ok(d("0.4")));
        assert_eq!(calc("if(a > b, a, b)"), Ok(d("10")));
        assert_eq!(calc("if(a < b, a, b)"), Ok(d("4")));
        assert_eq!(calc("if(0.001, 1, 2)"), Ok(d("1")));
        assert_eq!(calc("if(-1, 1, 2)"), Ok(d("1")));
        assert_eq!(calc("if(0, 1, 2)"), Ok(d("2")));
        assert_eq!(calc("max(0, min(a, if(c == 2, 3, 4)))"), Ok(d("3")));
    }

    #[test]
    fn comparisons_give_one_or_zero() {
        let cases = [
            ("b < a", "1"),
            ("a < b", "0"),
            ("b < b", "0"),
            ("b <= b", "1"),
            ("a <= b", "0"),
            ("a > b", "1"),
            ("b > b", "0"),
            ("b >= b", "1"),
            ("b >= a", "0"),
            ("b == 4.000", "1"),
            ("b == a", "0"),
            ("b != a", "1"),
            ("b != 4", "0"),
            ("(a > b) + (b > c) + (c > a)", "2"),
        ];
        for (source, expected) in cases {
            assert_eq!(calc(source), Ok(d(expected)), "{source}");
        }
    }

    #[test]
    fn comparisons_do_not_chain() {
        assert_eq!(syntax_position("a < b < c"), 7);
        assert_eq!(syntax_position("a == b != c"), 8);
        assert_eq!(calc("(a < b) < c"), Ok(d("1")));
    }

    #[test]
    fn if_evaluates_only_the_chosen_branch() {
        let f = Formula::parse("if(b > 0, a / b, 1)", &["a", "b"]).unwrap();
        assert_eq!(f.eval(&vars(&[("a", "3"), ("b", "0")])), Ok(d("1")));
        assert_eq!(f.eval(&vars(&[("a", "3"), ("b", "2")])), Ok(d("1.5")));
        // The untaken branch may even lack its variable.
        assert_eq!(f.eval(&vars(&[("b", "0")])), Ok(d("1")));
        let f = Formula::parse("if(b == 0, 1, a / b)", &["a", "b"]).unwrap();
        assert_eq!(f.eval(&vars(&[("a", "3"), ("b", "0")])), Ok(d("1")));
        // min and max, unlike if, evaluate every argument.
        let f = Formula::parse("min(1, a / b)", &["a", "b"]).unwrap();
        assert_eq!(
            f.eval(&vars(&[("a", "3"), ("b", "0")])),
            Err(FormulaError::DivisionByZero)
        );
    }

    #[test]
    fn unicode_operators() {
        assert_eq!(calc("a × b ÷ c"), Ok(d("20")));
        assert_eq!(calc("a − b − c"), Ok(d("4")));
        assert_eq!(calc("−a"), Ok(d("-10")));
        assert_eq!(calc("a×b−c÷c"), Ok(d("39")));
        // A non-breaking space copied from a word processor is just a space.
        assert_eq!(calc("a\u{a0}+\u{a0}b"), Ok(d("14")));
    }

    #[test]
    fn undeclared_variable_is_refused_at_parse_time() {
        assert_eq!(
            Formula::parse("a + c", &["a", "b"]),
            Err(FormulaError::UndeclaredVariable("c".into()))
        );
        assert_eq!(
            FormulaError::UndeclaredVariable("c".into()).to_string(),
            "Biến «c» chưa được khai báo"
        );
        assert_eq!(
            Formula::parse("1", &[]).unwrap().eval(&BTreeMap::new()),
            Ok(d("1"))
        );
    }

    #[test]
    fn missing_value_at_eval_time() {
        let f = Formula::parse("a + b", &["a", "b"]).unwrap();
        let err = f.eval(&vars(&[("a", "1")])).unwrap_err();
        assert_eq!(err, FormulaError::MissingValue("b".into()));
        assert_eq!(err.to_string(), "Chưa có giá trị cho biến «b»");
    }

    #[test]
    fn division_by_zero_is_an_error() {
        assert_eq!(calc("a / 0"), Err(FormulaError::DivisionByZero));
        assert_eq!(calc("a / (b - b)"), Err(FormulaError::DivisionByZero));
        assert_eq!(calc("a ÷ 0.000"), Err(FormulaError::DivisionByZero));
        assert_eq!(calc("0 / 0"), Err(FormulaError::DivisionByZero));
        assert_eq!(
            FormulaError::DivisionByZero.to_string(),
            "Công thức chia cho 0 (mẫu số bằng 0)"
        );
    }

    #[test]
    fn unguarded_divisions_are_found() {
        let names = |source: &str| -> Vec<String> {
            Formula::parse(source, &["a", "b", "c"])
                .unwrap()
                .unguarded_divisors()
                .into_iter()
                .collect()
        };
        assert_eq!(names("min(1, a / b) * 1"), ["b"]);
        assert_eq!(names("a / (b + c)"), ["b", "c"]);
        assert_eq!(names("a / b + a / c"), ["b", "c"]);
        assert!(names("if(b > 0, a / b, 1)").is_empty());
        assert!(names("if(b <= 0, 1, a / b)").is_empty());
        assert!(names("a / max(b, 1)").is_empty());
        assert!(names("a / 4").is_empty());
        // Guarded for b, not for c.
        assert_eq!(names("if(b > 0, a / b / c, 1)"), ["c"]);
        assert_eq!(names("if(b > 0, a / c, 1)"), ["c"]);
        assert_eq!(names("a / max(b, 0)"), ["b"]);
    }

    #[test]
    fn overflow_is_an_error() {
        let f = Formula::parse("a * a", &["a"]).unwrap();
        let huge = BTreeMap::from([("a".to_string(), Decimal::MAX)]);
        assert_eq!(f.eval(&huge), Err(FormulaError::Overflow));
        let f = Formula::parse("a + a", &["a"]).unwrap();
        assert_eq!(f.eval(&huge), Err(FormulaError::Overflow));
        let f = Formula::parse("-a - a", &["a"]).unwrap();
        assert_eq!(f.eval(&huge), Err(FormulaError::Overflow));
        let f = Formula::parse("a / 0.0001", &["a"]).unwrap();
        assert_eq!(f.eval(&huge), Err(FormulaError::Overflow));
        // 29 nines do not fit in a Decimal: refused when parsed, never rounded.
        assert_eq!(syntax_position("1 + 99999999999999999999999999999"), 5);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        assert_eq!(syntax_position(""), 1);
        assert_eq!(syntax_position("   "), 1);
        assert_eq!(syntax_position("a +"), 4);
        assert_eq!(syntax_position("a + * b"), 5);
        assert_eq!(syntax_position("(a + b"), 7);
        assert_eq!(syntax_position("a + b)"), 6);
        assert_eq!(syntax_position("a b"), 3);
        assert_eq!(syntax_position("a = b"), 3);
        assert_eq!(syntax_position("a ! b"), 3);
        assert_eq!(syntax_position("a + B"), 5);
        assert_eq!(syntax_position("số + 1"), 2);
        assert_eq!(syntax_position("a % b"), 3);
        assert_eq!(syntax_position("1. + a"), 2);
        assert_eq!(syntax_position(".5"), 1);
        assert_eq!(syntax_position("min"), 1);
        assert_eq!(syntax_position("min(a, )"), 8);
        assert_eq!(syntax_position("min(a b)"), 7);
        assert_eq!(syntax_position("a(b)"), 2);
        // Positions count characters, not bytes.
        assert_eq!(syntax_position("a × ÷ b"), 5);
        let err = Formula::parse("(a + b", ABC).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Lỗi cú pháp ở vị trí 7: Thiếu «)» để đóng «(» ở vị trí 1"
        );
        let err = Formula::parse("a + * b", ABC).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Lỗi cú pháp ở vị trí 5: Thiếu số, biến hoặc «(», nhưng gặp «*»"
        );
    }

    #[test]
    fn a_decimal_comma_is_never_silently_an_argument_separator() {
        // Outside a call the comma cannot be a separator at all.
        assert_eq!(syntax_position("a * 0,5"), 6);
        assert_eq!(syntax_position("(0, 5)"), 3);
        // Inside min/max it could; squeezed between digits it is refused as ambiguous.
        assert_eq!(syntax_position("min(a, 0,5)"), 9);
        let message = Formula::parse("max(0,5, a)", ABC).unwrap_err().to_string();
        assert!(
            message.contains("0.5") && message.contains("0, 5"),
            "{message}"
        );
        assert_eq!(calc("min(a, 0, 5)"), Ok(d("0")));
        assert_eq!(calc("min(a; 0.5)"), Ok(d("0.5")));
        assert_eq!(calc("min(a,b)"), Ok(d("4")));
    }

    #[test]
    fn functions_are_checked() {
        assert_eq!(
            Formula::parse("sqrt(a)", ABC),
            Err(FormulaError::UnknownFunction("sqrt".into()))
        );
        let err = Formula::parse("min(a)", ABC).unwrap_err();
        assert_eq!(
            err,
            FormulaError::WrongArity {
                function: "min".into(),
                expected: Arity::AtLeast(2),
                found: 1,
            }
        );
        assert_eq!(
            err.to_string(),
            "Hàm «min» cần ít nhất 2 đối số, nhưng có 1"
        );
        assert!(matches!(
            Formula::parse("max()", ABC),
            Err(FormulaError::WrongArity { found: 0, .. })
        ));
        let err = Formula::parse("if(a, b)", ABC).unwrap_err();
        assert_eq!(err.to_string(), "Hàm «if» cần đúng 3 đối số, nhưng có 2");
        assert!(matches!(
            Formula::parse("if(a, b, c, 1)", ABC),
            Err(FormulaError::WrongArity { found: 4, .. })
        ));
        // Function names are not variables, even if declared.
        assert!(matches!(
            Formula::parse("min + 1", &["min"]),
            Err(FormulaError::Syntax { position: 1, .. })
        ));
    }

    #[test]
    fn nesting_up_to_64_levels_is_accepted() {
        let source = format!("{}a{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(calc(&source), Ok(d("10")));
        let source = format!("{}a{}", "(".repeat(65), ")".repeat(65));
        assert_eq!(calc(&source), Err(FormulaError::TooDeep));
        assert_eq!(calc(&format!("{}a", "-".repeat(64))), Ok(d("10")));
        assert_eq!(
            calc(&format!("{}a", "-".repeat(65))),
            Err(FormulaError::TooDeep)
        );
        assert_eq!(
            FormulaError::TooDeep.to_string(),
            "Công thức lồng quá sâu (tối đa 64 cấp)"
        );
    }

    // These run on the ordinary test thread (2 MB stack): a recursive parser without a depth
    // bound would overflow it.
    #[test]
    fn ten_thousand_levels_of_nesting_are_refused_without_overflowing_the_stack() {
        let n = 10_000;
        let parens = format!("{}a{}", "(".repeat(n), ")".repeat(n));
        let minuses = format!("{}a", "-".repeat(n));
        let calls = format!("{}a{}", "min(a, ".repeat(n), ")".repeat(n));
        let ifs = format!("{}a{}", "if(a, a, ".repeat(n), ")".repeat(n));
        let mixed = "(-min(".repeat(n);
        for source in [parens, minuses, calls, ifs, mixed] {
            assert_eq!(
                Formula::parse(&source, ABC),
                Err(FormulaError::TooDeep),
                "{}…",
                &source[..20]
            );
        }
    }

    #[test]
    fn length_limits() {
        let ok = format!("a{}", " ".repeat(MAX_CHARS - 1));
        assert!(Formula::parse(&ok, ABC).is_ok());
        let too_long = format!("a{}", " ".repeat(MAX_CHARS));
        assert_eq!(too_long.chars().count(), 2001);
        assert_eq!(Formula::parse(&too_long, ABC), Err(FormulaError::TooLong));
        // The limit counts characters, whatever they are; a long name is one token.
        let long_name = "a".repeat(MAX_CHARS);
        assert!(Formula::parse(&long_name, &[long_name.as_str()]).is_ok());
        let huge = "a + ".repeat(1_000_000);
        assert_eq!(Formula::parse(&huge, ABC), Err(FormulaError::TooManyTokens));
        // 250 terms make 499 tokens; one more term is too many.
        let terms = |n: usize| vec!["a"; n].join("+");
        assert!(Formula::parse(&terms(250), ABC).is_ok());
        assert_eq!(
            Formula::parse(&terms(251), ABC),
            Err(FormulaError::TooManyTokens)
        );
        assert_eq!(
            Formula::parse(&" ".repeat(5000), ABC),
            Err(FormulaError::TooLong)
        );
    }

    #[test]
    fn a_long_flat_sum_is_not_deep() {
        let source = vec!["a"; 250].join(" + ");
        assert_eq!(calc(&source), Ok(d("2500")));
    }

    #[test]
    fn variables_used_and_source() {
        let source = "if(b > 0, min(1, a / b), 1) * 10";
        let f = Formula::parse(source, &["a", "b", "c", "d_2"]).unwrap();
        assert_eq!(f.source(), source);
        let used: Vec<String> = f.variables_used().into_iter().collect();
        assert_eq!(used, ["a", "b"]);
        let f = Formula::parse("x_1 + x_1 * y2", &["x_1", "y2"]).unwrap();
        assert_eq!(f.variables_used().len(), 2);
        assert!(
            Formula::parse("1 + 2", &[])
                .unwrap()
                .variables_used()
                .is_empty()
        );
    }

    #[test]
    fn explain_substitutes_values_in_vietnamese_notation() {
        let f = Formula::parse("min(1, a / b) * 1", &["a", "b"]).unwrap();
        assert_eq!(
            f.explain(&vars(&[("a", "30"), ("b", "40")])),
            "min(1; 30 ÷ 40) × 1"
        );
        assert_eq!(
            f.explain(&vars(&[("a", "2.50"), ("b", "12.000")])),
            "min(1; 2,5 ÷ 12) × 1"
        );
        // A value not given yet shows as the variable's name.
        assert_eq!(f.explain(&vars(&[("a", "3")])), "min(1; 3 ÷ b) × 1");

        let f = Formula::parse("if(b>0,a/b,1)-(a-b)*0.50", &["a", "b"]).unwrap();
        assert_eq!(
            f.explain(&vars(&[("a", "3"), ("b", "0")])),
            "if(0 > 0; 3 ÷ 0; 1) − (3 − 0) × 0,5"
        );
        // Negative values are parenthesised where a bare sign would be confusing.
        let f = Formula::parse("a * b + -a", &["a", "b"]).unwrap();
        assert_eq!(
            f.explain(&vars(&[("a", "-1.5"), ("b", "-2")])),
            "−1,5 × (−2) + −(−1,5)"
        );
        let f = Formula::parse("max(a, 0) <= 1 == 0", &["a"]);
        assert!(f.is_err());
        let f = Formula::parse("(max(a; 0) <= 1) != (a >= 2)", &["a"]).unwrap();
        assert_eq!(
            f.explain(&vars(&[("a", "-3")])),
            "(max(−3; 0) ≤ 1) ≠ (−3 ≥ 2)"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_formula_like_text(
            source in "[a-z0-9 .,;()+*/<>=!_×÷−-]{0,120}"
        ) {
            let _ = Formula::parse(&source, ABC);
        }

        #[test]
        fn parse_never_panics_on_any_text(source in "\\PC{0,80}") {
            let _ = Formula::parse(&source, ABC);
        }

        #[test]
        fn eval_and_explain_never_panic(
            source in "[abc0-9 .,;()+*/<>=!×÷−-]{0,60}|(min|max|if)\\([abc0-9 ,+*/<>=-]{0,40}\\)",
            a in prop::sample::select(vec![Decimal::MAX, Decimal::MIN, Decimal::ZERO,
                Decimal::new(1, 28), Decimal::new(-7, 3), Decimal::ONE]),
            b in prop::sample::select(vec![Decimal::MAX, Decimal::ZERO, Decimal::new(1, 28),
                Decimal::new(3, 1)]),
        ) {
            if let Ok(formula) = Formula::parse(&source, ABC) {
                let values = BTreeMap::from([("a".to_string(), a), ("b".to_string(), b)]);
                let _ = formula.eval(&values);
                let _ = formula.explain(&values);
            }
        }

        #[test]
        fn a_plus_b_is_the_exact_decimal_sum(
            am in -1_000_000_000_000i64..1_000_000_000_000,
            ascale in 0u32..8,
            bm in -1_000_000_000_000i64..1_000_000_000_000,
            bscale in 0u32..8,
        ) {
            let (a, b) = (Decimal::new(am, ascale), Decimal::new(bm, bscale));
            let formula = Formula::parse("a + b", &["a", "b"]).unwrap();
            let values = BTreeMap::from([("a".to_string(), a), ("b".to_string(), b)]);
            let sum = formula.eval(&values).unwrap();
            prop_assert_eq!(sum, a + b);
            // Exact, not merely equal in value after rounding: no digit is lost.
            prop_assert_eq!(sum - a, b);
        }
    }
}
