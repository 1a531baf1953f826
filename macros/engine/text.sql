{#- Engine SQL (macros/engine/types.sql says how it is laid out): values as
    text identical on every engine, and the fingerprints and checksums built
    on them. -#}


{#- A number as text, identical on every engine: DuckDB's (= Python's repr:
    shortest round-trip decimal, `0.0001`, `1e-05`, `3.0`, `nan`, `inf`).
    Used wherever a number becomes text that is compared or shown
    (swept_value, fingerprints). -#}
{% macro butter_number_text(expr) -%}
    {{ return(adapter.dispatch('butter_number_text', 'butter')(expr)) }}
{%- endmacro %}

{#- DuckDB's text for a number (Python's repr: shortest round trip, `0.0001`,
    `1e-05`, `3.0`, `nan`, `inf`) rebuilt from Java's (`1.0E-4`, `1.0E-5`,
    `3.0`, `NaN`, `Infinity`): the digits and the decimal exponent are read
    off Java's text and laid out as Python does (scientific below 1e-4 and
    from 1e16). Integers and other text pass unchanged. -#}
{% macro default__butter_number_text(expr) -%}
    {#- Each step is one lambda over the previous one's struct, so `expr` and
        every regexp appear once: Spark's optimizer time grows with the
        expression's size, and a fingerprint holds this once per column. -#}
    {%- set pattern = "'^(-?)([0-9]+)[.]([0-9]+)(E(-?[0-9]+))?$'" -%}
    transform(array(cast({{ expr }} as string)), t ->
    transform(array(named_struct(
        'text', t,
        'sign', regexp_extract(t, {{ pattern }}, 1),
        'integer_part', regexp_extract(t, {{ pattern }}, 2),
        'fraction_part', regexp_extract(t, {{ pattern }}, 3),
        'exponent_part', regexp_extract(t, {{ pattern }}, 5)
    )), p ->
    transform(array(named_struct(
        'text', p.text,
        'sign', p.sign,
        'integer_part', p.integer_part,
        'fraction_part', p.fraction_part,
        'exponent_part', p.exponent_part,
        'fraction_digits', regexp_replace(p.fraction_part, '^0+', '')
    )), q ->
    transform(array(named_struct(
        'text', q.text,
        'sign', q.sign,
        'digits', regexp_replace(case when q.integer_part = '0' then q.fraction_digits
            else q.integer_part || q.fraction_part end, '0+$', ''),
        'exponent', case when q.exponent_part != '' then cast(q.exponent_part as int)
            when q.integer_part != '0' then length(q.integer_part) - 1
            else length(q.fraction_digits) - length(q.fraction_part) - 1 end
    )), n ->
        case
            when n.text is null then null
            when n.text = 'NaN' then 'nan'
            when n.text = 'Infinity' then 'inf'
            when n.text = '-Infinity' then '-inf'
            when not n.text rlike {{ pattern }} then n.text
            when n.digits = '' then n.sign || '0.0'
            when n.exponent >= 16 or n.exponent < -4
                then n.sign || substr(n.digits, 1, 1)
                || case when length(n.digits) > 1 then '.' || substr(n.digits, 2) else '' end
                || 'e' || case when n.exponent < 0 then '-' else '+' end
                || case when abs(n.exponent) < 10 then '0' else '' end || cast(abs(n.exponent) as string)
            when n.exponent < 0 then n.sign || '0.' || repeat('0', -n.exponent - 1) || n.digits
            when length(n.digits) <= n.exponent + 1 then n.sign || rpad(n.digits, n.exponent + 1, '0') || '.0'
            else n.sign || substr(n.digits, 1, n.exponent + 1) || '.' || substr(n.digits, n.exponent + 2)
        end
    )[0])[0])[0])[0]
{%- endmacro %}

{% macro duckdb__butter_number_text(expr) -%}
    cast({{ expr }} as varchar)
{%- endmacro %}


{#- A scalar value as text, identical on every engine: numbers as
    butter_number_text, timestamps as epoch microseconds, the rest cast to
    text. `sql_type` (the contract type, when known) lets DuckDB tell a
    timestamp; Spark reads the type off the value. -#}
{% macro butter_value_text(expr, sql_type=none) -%}
    {{ return(adapter.dispatch('butter_value_text', 'butter')(expr, sql_type)) }}
{%- endmacro %}

{#- A value as text for a fingerprint, the same on both engines: numbers
    through butter_number_text, timestamps as epoch microseconds (no time
    zone in the text), the rest as cast to text. Spark picks by the contract
    type when it is given, else by the value's type (typeof is folded at
    planning time). -#}
{% macro default__butter_value_text(expr, sql_type=none) -%}
    {%- set known = (sql_type or '') | lower -%}
    {%- set micros = 'cast(unix_micros(cast(' ~ expr ~ ' as timestamp)) as string)' -%}
    {%- if known in ('float', 'double', 'real') -%}
        {{ default__butter_number_text(expr) }}
    {%- elif known.startswith('timestamp') -%}
        {{ micros }}
    {%- elif known.rstrip('[]') in ('varchar', 'text', 'string', 'boolean', 'integer', 'bigint', 'smallint',
                                    'tinyint', 'utinyint', 'usmallint', 'uinteger', 'ubigint') -%}
        {#- a list of these too: `[1, 2, 3]`, as DuckDB writes it -#}
        cast({{ expr }} as string)
    {%- elif known.endswith('[]') -%}
        '[' || array_join(transform({{ expr }}, v -> coalesce({{ default__butter_number_text('v') }}, 'NULL')), ', ') || ']'
    {%- elif known and known != 'json' -%}
        {{- exceptions.raise_compiler_error("butter_value_text: no text rule for type '" ~ sql_type ~ "'") -}}
    {%- else -%}
    {#- the type unknown here: read off the value (folded at planning time) -#}
    case
        when typeof({{ expr }}) in ('float', 'double') then {{ default__butter_number_text(expr) }}
        when typeof({{ expr }}) = 'timestamp' then {{ micros }}
        else cast({{ expr }} as string)
    end
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__butter_value_text(expr, sql_type=none) -%}
    {%- if sql_type is not none and sql_type.startswith('timestamp') -%}
        cast(epoch_us({{ expr }}) as varchar)
    {%- else -%}
        cast({{ expr }} as varchar)
    {%- endif -%}
{%- endmacro %}


{#- A text fingerprint of several columns, NULL-safe, for "do two copies
    agree": md5 of the columns' texts (butter_fingerprint_text, the same on
    every engine, so fingerprints are too). -#}
{% macro butter_fingerprint(columns) -%}
    {%- set texts = [] -%}
    {%- for column in columns -%}
        {%- do texts.append(butter_fingerprint_text(column)) -%}
    {%- endfor -%}
    {{ butter_fingerprint_of_texts(texts) }}
{%- endmacro %}

{#- One column's text as it enters a fingerprint: butter_value_text by the
    column's contract type (looked up by its name, also for `table.column`),
    NULL spelled '<null>'. A model that fingerprints the same columns several
    ways computes each text once and joins them with butter_fingerprint_of_texts. -#}
{% macro butter_fingerprint_text(column) -%}
    {%- set types = {} -%}
    {%- set optional_flags = [] -%}
    {%- for kind in ['runs', 'summary'] -%}
        {%- for col in butter_columns(kind) -%}
            {%- do types.update({col.name: col.sql_type}) -%}
            {%- if col.sql_type == 'boolean' and not col.required -%}
                {%- do optional_flags.append(col.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if column in optional_flags -%}
        {#- a flag one export does not carry (is_optimizer_sweep, NULL there) is not set: no difference -#}
        {{ butter_value_text('coalesce(' ~ column ~ ', false)', 'boolean') }}
    {%- else -%}
        coalesce({{ butter_value_text(column, types.get(column.split('.')[-1])) }}, '<null>')
    {%- endif -%}
{%- endmacro %}

{#- The fingerprint of texts (butter_fingerprint_text's, or any non-NULL
    text), in order: md5 of the texts joined with '|'. A NULL text is left
    out (concat_ws skips it on every engine). -#}
{% macro butter_fingerprint_of_texts(texts) -%}
    md5(concat_ws('|'
        {%- for text in texts %},
        {{ text }}
        {%- endfor %}
    ))
{%- endmacro %}


{#- A checksum of a whole array (a per-epoch metric) as text, NULL for a NULL
    array: equal arrays give equal checksums, so copies whose arrays differ are
    told apart without comparing the arrays element by element. 64-bit
    engine hashes (DuckDB hash, Spark xxhash64): compared within one build. -#}
{% macro butter_array_checksum(expr) -%}
    {{ return(adapter.dispatch('butter_array_checksum', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_array_checksum(expr) -%}
    case when {{ expr }} is not null then cast(xxhash64({{ expr }}) as string) end
{%- endmacro %}

{% macro duckdb__butter_array_checksum(expr) -%}
    case when {{ expr }} is not null then cast(hash({{ expr }}) as varchar) end
{%- endmacro %}


{#- A number read from a JSON text at a JSONPath (`$.optimizer.config.momentum`),
    as DOUBLE: NULL when the text is NULL or not valid JSON, the path is absent,
    or its value is not a number (a numeric string is read as its number). Used
    for the runs' `command` (the run's settings, Keras style). -#}
{% macro butter_json_number(expr, path) -%}
    {{ return(adapter.dispatch('butter_json_number', 'butter')(expr, path)) }}
{%- endmacro %}

{#- get_json_object gives NULL for invalid JSON or an absent path; with ANSI
    off (dbt-spark) a failed cast gives NULL. -#}
{% macro default__butter_json_number(expr, path) -%}
    cast(get_json_object({{ expr }}, '{{ path }}') as double)
{%- endmacro %}

{#- json_extract_string raises on invalid JSON, hence json_valid first. -#}
{% macro duckdb__butter_json_number(expr, path) -%}
    try_cast(json_extract_string(case when json_valid({{ expr }}) then {{ expr }} end, '{{ path }}') as double)
{%- endmacro %}
