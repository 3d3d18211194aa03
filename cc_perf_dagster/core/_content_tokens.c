/* A content stream's operations, in C: cc_perf_dagster.core.content_tokens.python_parse, the same
 * scan, the same result.
 *
 * parse(data, number, name, literal, dictionary, ArrayObject, ByteStringObject, Unsure,
 *       max_operator, max_depth, max_items) -> [(operands, operator), ...]
 *
 * The Python function is the reference and the fallback (this module is built where a C compiler
 * is, see pyproject.toml). It reads the stream with one regular expression, _TOKEN; this reads
 * it byte by byte, each branch below one of that expression's groups, in its order. What a token
 * becomes is left to the Python helpers it is handed (number, name, literal, dictionary), each
 * called where python_parse calls it, so the objects are made by one piece of code; numbers and
 * names are kept per stream by their bytes, as python_parse keeps them. Strings without escapes
 * and hexadecimal strings (one per glyph in Chromium's and cairo's pages) are made here, as
 * ByteStringObject of their bytes, as _literal and _hex_string make them. Where
 * python_parse raises Unsure, this raises it too (with the same reasons). test_content_tokens.py
 * reads every content stream of the test invoices and mutated ones both ways and asks for the
 * same operations, or for Unsure from both.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define DEPTH_LIMIT 64 /* room for the stack of open arrays and dictionaries (max_depth is less) */

/* Whitespace pypdf skips between tokens: NUL, tab, line feed, form feed, carriage return, space. */
static int is_space(unsigned char c) { return c == 0 || c == 9 || c == 10 || c == 12 || c == 13 || c == 32; }

/* Where pypdf ends an operator or a name (NameObject.delimiter_pattern: \s holds \v, not NUL). */
static int ends_token(unsigned char c) {
    switch (c) {
    case ' ': case '\t': case '\n': case '\r': case '\f': case '\v':
    case '(': case ')': case '<': case '>': case '[': case ']': case '{': case '}': case '/': case '%':
        return 1;
    default:
        return 0;
    }
}

static int in_number(unsigned char c) { return (c >= '0' && c <= '9') || c == '+' || c == ',' || c == '-' || c == '.'; }

static int is_letter(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

static int is_hex_or_space(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f') || is_space(c);
}

/* The end of the literal string opening at data[start] (one past its ")"), or -1 where _TOKEN's
 * group 4 does not match there: a string left open, or parentheses inside it more than one deep. */
static Py_ssize_t string_end(const unsigned char *data, Py_ssize_t start, Py_ssize_t length) {
    int inner = 0;
    for (Py_ssize_t at = start + 1; at < length; at++) {
        unsigned char c = data[at];
        if (c == '\\') {
            if (at + 1 >= length)
                return -1;
            at++; /* the byte after a backslash is never a parenthesis that counts */
        } else if (c == '(') {
            if (inner)
                return -1;
            inner = 1;
        } else if (c == ')') {
            if (!inner)
                return at + 1;
            inner = 0;
        }
    }
    return -1;
}

/* helper(token), kept in cache by the token's bytes (a new reference, or NULL with an error set). */
static PyObject *cached(PyObject *cache, PyObject *helper, const unsigned char *start, Py_ssize_t length) {
    PyObject *token = PyBytes_FromStringAndSize((const char *)start, length);
    if (token == NULL)
        return NULL;
    PyObject *value = PyDict_GetItemWithError(cache, token);
    if (value != NULL) {
        Py_INCREF(value);
    } else if (!PyErr_Occurred()) {
        value = PyObject_CallOneArg(helper, token);
        if (value != NULL && PyDict_SetItem(cache, token, value) < 0)
            Py_CLEAR(value);
    }
    Py_DECREF(token);
    return value;
}

/* helper(data[start:start + length]) (a new reference, or NULL with an error set). */
static PyObject *call_on(PyObject *helper, const unsigned char *start, Py_ssize_t length) {
    PyObject *body = PyBytes_FromStringAndSize((const char *)start, length);
    if (body == NULL)
        return NULL;
    PyObject *value = PyObject_CallOneArg(helper, body);
    Py_DECREF(body);
    return value;
}

static int nibble(unsigned char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

/* ByteStringObject of a hexadecimal string's body (its digits and whitespace only, as the scan
 * checked): the digits in pairs, a last one alone padded with 0, as content_tokens._hex_string. */
static PyObject *hex_string(PyObject *byte_string, const unsigned char *body, Py_ssize_t length) {
    PyObject *decoded = PyBytes_FromStringAndSize(NULL, (length + 1) / 2);
    if (decoded == NULL)
        return NULL;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(decoded);
    Py_ssize_t size = 0;
    int high = -1;
    for (Py_ssize_t at = 0; at < length; at++) {
        if (is_space(body[at]))
            continue;
        if (high < 0) {
            high = nibble(body[at]);
        } else {
            out[size++] = (unsigned char)(high << 4 | nibble(body[at]));
            high = -1;
        }
    }
    if (high >= 0)
        out[size++] = (unsigned char)(high << 4);
    if (size != PyBytes_GET_SIZE(decoded)) { /* whitespace among the digits: fewer bytes */
        PyObject *exact = PyBytes_FromStringAndSize((const char *)out, size);
        Py_SETREF(decoded, exact);
        if (decoded == NULL)
            return NULL;
    }
    PyObject *value = PyObject_CallOneArg(byte_string, decoded);
    Py_DECREF(decoded);
    return value;
}

enum { NUMBER, NAME, LITERAL, DICTIONARY, ARRAY, BYTE_STRING, UNSURE, MAX_OPERATOR, MAX_DEPTH, MAX_ITEMS, HELPERS };

static PyObject *parse(PyObject *Py_UNUSED(self), PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 1 + HELPERS) {
        PyErr_SetString(PyExc_TypeError, "parse(data, number, name, literal, dictionary, ArrayObject, "
                                         "ByteStringObject, Unsure, max_operator, max_depth, max_items)");
        return NULL;
    }
    PyObject *const *h = args + 1;
    Py_ssize_t max_operator = PyLong_AsSsize_t(h[MAX_OPERATOR]);
    Py_ssize_t max_depth = PyLong_AsSsize_t(h[MAX_DEPTH]);
    Py_ssize_t max_items = PyLong_AsSsize_t(h[MAX_ITEMS]);
    if (PyErr_Occurred())
        return NULL;
    if (max_depth < 0 || max_depth > DEPTH_LIMIT) {
        PyErr_SetString(PyExc_ValueError, "max_depth out of range");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *data = view.buf;
    Py_ssize_t length = view.len, at = 0;
    PyObject *open[DEPTH_LIMIT]; /* the arrays and dictionaries open, outermost first (owned) */
    char is_array[DEPTH_LIMIT];
    int depth = 0;
    const char *unsure = NULL;
    PyObject *result = PyList_New(0), *operands = PyList_New(0);
    PyObject *numbers = PyDict_New(), *names = PyDict_New();
    if (result == NULL || operands == NULL || numbers == NULL || names == NULL)
        goto fail;
    for (;;) {
        while (at < length && is_space(data[at]))
            at++;
        if (at >= length)
            break;
        PyObject *current = depth ? open[depth - 1] : operands; /* where the next object goes */
        PyObject *value = NULL;
        Py_ssize_t start = at;
        unsigned char c = data[at];
        if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') { /* 1: a number */
            at++;
            while (at < length && in_number(data[at]))
                at++;
            value = cached(numbers, h[NUMBER], data + start, at - start);
        } else if (is_letter(c) || c == '\'' || c == '"') { /* 2: an operator */
            at++;
            while (at < length && !ends_token(data[at]))
                at++;
            Py_ssize_t size = at - start;
            if (depth || size > max_operator || (size == 2 && data[start] == 'B' && data[start + 1] == 'I')) {
                unsure = "a boolean or null in an array, a long operator or an inline image";
                goto fail;
            }
            if (c == 'R' && !(size > 1 && is_letter(data[start + 1]))) {
                unsure = "'R' after two numbers: pypdf may read a reference";
                goto fail;
            }
            PyObject *operator = PyBytes_FromStringAndSize((const char *)data + start, size);
            if (operator == NULL)
                goto fail;
            PyObject *operation = PyTuple_Pack(2, operands, operator);
            Py_DECREF(operator);
            if (operation == NULL || PyList_Append(result, operation) < 0) {
                Py_XDECREF(operation);
                goto fail;
            }
            Py_DECREF(operation);
            Py_SETREF(operands, PyList_New(0));
            if (operands == NULL)
                goto fail;
            continue;
        } else if (c == '/') { /* 3: a name */
            at++;
            while (at < length && !ends_token(data[at]))
                at++;
            value = cached(names, h[NAME], data + start, at - start);
        } else if (c == '(') { /* 4: a literal string */
            Py_ssize_t end = string_end(data, start, length);
            if (end < 0) {
                unsure = "a byte pypdf refuses or reads its own way";
                goto fail;
            }
            at = end;
            const unsigned char *body = data + start + 1;
            Py_ssize_t size = end - start - 2;
            if (memchr(body, '\\', (size_t)size) != NULL)
                value = call_on(h[LITERAL], body, size);
            else
                value = call_on(h[BYTE_STRING], body, size);
        } else if (c == '<' && !(at + 1 < length && data[at + 1] == '<')) { /* 5: a hexadecimal string */
            at++;
            while (at < length && is_hex_or_space(data[at]))
                at++;
            if (at >= length || data[at] != '>') {
                unsure = "a byte pypdf refuses or reads its own way";
                goto fail;
            }
            at++;
            value = hex_string(h[BYTE_STRING], data + start + 1, at - start - 2);
        } else if (c == '[' || c == '<') { /* 6, 8: an array or a dictionary opens */
            if (depth >= max_depth) {
                unsure = "arrays or dictionaries nested deeper than pypdf's recursion may go";
                goto fail;
            }
            at += c == '[' ? 1 : 2;
            PyObject *opened = c == '[' ? PyObject_CallNoArgs(h[ARRAY]) : PyList_New(0);
            if (opened == NULL)
                goto fail;
            is_array[depth] = c == '[';
            open[depth++] = opened;
            continue;
        } else if (c == ']' || (c == '>' && at + 1 < length && data[at + 1] == '>')) { /* 7, 9: one closes */
            at += c == ']' ? 1 : 2;
            if (!depth || is_array[depth - 1] != (c == ']') || PyList_GET_SIZE(current) > max_items) {
                unsure = "a stray closing bracket, or a long array or dictionary";
                goto fail;
            }
            PyObject *closed = open[--depth];
            if (c == '>') {
                PyObject *position = PyLong_FromSsize_t(at);
                value = position ? PyObject_CallFunctionObjArgs(h[DICTIONARY], closed, args[0], position, NULL) : NULL;
                Py_XDECREF(position);
                Py_DECREF(closed);
            } else {
                value = closed;
            }
            current = depth ? open[depth - 1] : operands;
        } else if (c == '%') { /* 10: a comment, to the end of its line (the line break read with it) */
            if (depth) {
                unsure = "a comment inside an array or a dictionary";
                goto fail;
            }
            while (at < length && data[at] != '\r' && data[at] != '\n')
                at++;
            if (at < length)
                at++;
            continue;
        } else { /* 11: anything else */
            unsure = "a byte pypdf refuses or reads its own way";
            goto fail;
        }
        if (value == NULL)
            goto fail;
        int appended = PyList_Append(current, value);
        Py_DECREF(value);
        if (appended < 0)
            goto fail;
    }
    if (depth) {
        unsure = "an array or dictionary left open: pypdf reads it to the end";
        goto fail;
    }
    Py_DECREF(operands);
    Py_DECREF(numbers);
    Py_DECREF(names);
    PyBuffer_Release(&view);
    return result;
fail:
    if (unsure != NULL)
        PyErr_SetString(h[UNSURE], unsure);
    while (depth)
        Py_DECREF(open[--depth]);
    Py_XDECREF(result);
    Py_XDECREF(operands);
    Py_XDECREF(numbers);
    Py_XDECREF(names);
    PyBuffer_Release(&view);
    return NULL;
}

static PyMethodDef methods[] = {
    {"parse", (PyCFunction)(void (*)(void))parse, METH_FASTCALL, "A content stream's operations (see the module)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_content_tokens", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__content_tokens(void) { return PyModule_Create(&module); }
