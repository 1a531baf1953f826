{#-
    Engine SQL, one concern per file (macros/engine/): each primitive
    `butter_x` dispatches (adapter.dispatch) to `default__butter_x`, the Spark
    SQL (the closest to ANSI; dbt-spark and dbt-databricks fall back to it),
    and `duckdb__butter_x`, the DuckDB SQL. Spark SQL notes that shaped the
    `default__` versions (README "Engines"):
    - dbt-spark turns ANSI mode off: size(NULL) is -1 (use array_size),
      casts that fail give NULL, element_at(x, 0) still raises;
    - no unsigned integers, `float[]`, `varchar` without a length, `lambda x:`
      (Spark writes `x -> ...`) or isfinite;
    - float/double to text is Java's (`1.0E-4`), not DuckDB's (`0.0001`):
      every number that becomes text goes through butter_number_text.

    This file: types, the one type map, list literals typed by it and
    reading a relation's columns.
-#}


{#- The one type map: a contract / DuckDB type name (`varchar`,
    `uinteger`, `float[]`, `timestamp with time zone`, ...) as the engine
    spells it. DuckDB: unchanged; Spark: string, signed integers wide enough
    for the unsigned values, array<...>, timestamp. -#}
{% macro butter_type(sql_type) -%}
    {{ return(adapter.dispatch('butter_type', 'butter')(sql_type)) }}
{%- endmacro %}

{% macro default__butter_type(sql_type) -%}
    {%- set base = sql_type | trim | lower -%}
    {%- if base.endswith('[]') -%}
        {{- return('array<' ~ default__butter_type(base[:-2]) ~ '>') -}}
    {%- endif -%}
    {%- set types = {
        'varchar': 'string', 'text': 'string', 'string': 'string',
        'utinyint': 'smallint', 'usmallint': 'int', 'uinteger': 'bigint', 'ubigint': 'bigint',
        'tinyint': 'tinyint', 'smallint': 'smallint', 'integer': 'int', 'int': 'int', 'bigint': 'bigint',
        'float': 'float', 'real': 'float', 'double': 'double', 'boolean': 'boolean',
        'timestamp with time zone': 'timestamp', 'timestamptz': 'timestamp', 'timestamp': 'timestamp',
    } -%}
    {%- if base not in types -%}
        {{- exceptions.raise_compiler_error("butter_type: no Spark type for '" ~ sql_type
            ~ "'; add it to default__butter_type in macros/engine/types.sql.") -}}
    {%- endif -%}
    {{- return(types[base]) -}}
{%- endmacro %}

{% macro duckdb__butter_type(sql_type) -%}
    {{ return(sql_type) }}
{%- endmacro %}


{#- A list literal from its JSON text (`[0.5, NaN, Infinity]`, `[]`) as a
    list of sql_type (a contract / DuckDB list type, default `float[]`), typed
    through the one type map: the unit-test fixtures' arrays. Spark: from_json
    (NaN and +-Infinity allowed); DuckDB: a cast of the text. -#}
{% macro butter_list_literal(json_text, sql_type='float[]') -%}
    {{ return(adapter.dispatch('butter_list_literal', 'butter')(json_text, sql_type)) }}
{%- endmacro %}

{% macro default__butter_list_literal(json_text, sql_type='float[]') -%}
    from_json('{{ json_text }}', '{{ default__butter_type(sql_type) }}')
{%- endmacro %}

{% macro duckdb__butter_list_literal(json_text, sql_type='float[]') -%}
    cast('{{ json_text }}' as {{ duckdb__butter_type(sql_type) }})
{%- endmacro %}


{#- Column names and types of a relation or table expression, as a list of
    {'name': ..., 'type': ...} dicts. -#}
{% macro butter_describe(relation_sql) -%}
    {{ return(adapter.dispatch('butter_describe', 'butter')(relation_sql)) }}
{%- endmacro %}

{% macro default__butter_describe(relation_sql) -%}
    {%- set result = run_query('describe query select * from ' ~ relation_sql) -%}
    {%- set described = [] -%}
    {%- for row in result.rows if row[0] and not row[0].startswith('#') -%}
        {%- do described.append({'name': row[0], 'type': row[1] | lower}) -%}
    {%- endfor -%}
    {{ return(described) }}
{%- endmacro %}

{% macro duckdb__butter_describe(relation_sql) -%}
    {%- set result = run_query('describe select * from ' ~ relation_sql) -%}
    {%- set described = [] -%}
    {%- for row in result.rows -%}
        {%- do described.append({'name': row[0], 'type': row[1] | lower}) -%}
    {%- endfor -%}
    {{ return(described) }}
{%- endmacro %}


{#- A float32 value as the DOUBLE equal to its shortest round-trip decimal
    (float 0.0001 -> double 0.0001, not 0.00009999999747378752), so that
    `= 1e-4`, a double literal and a bound parameter all match. NULL stays NULL. -#}
{% macro butter_exact_double(expr) -%}
    {{ return(adapter.dispatch('butter_exact_double', 'butter')(expr)) }}
{%- endmacro %}

{#- Java's Float.toString gives the float's shortest decimal (`1.0E-4`),
    which Spark parses as the double 0.0001. -#}
{% macro default__butter_exact_double(expr) -%}
    cast(cast({{ expr }} as string) as double)
{%- endmacro %}

{% macro duckdb__butter_exact_double(expr) -%}
    cast(cast({{ expr }} as varchar) as double)
{%- endmacro %}


{#- Unix seconds to a timestamp with time zone. -#}
{% macro butter_from_unix_seconds(expr) -%}
    {{ return(adapter.dispatch('butter_from_unix_seconds', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_from_unix_seconds(expr) -%}
    timestamp_seconds({{ expr }})
{%- endmacro %}

{% macro duckdb__butter_from_unix_seconds(expr) -%}
    to_timestamp({{ expr }})
{%- endmacro %}
