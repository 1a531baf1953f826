{#- Engine macros that build or pick columns of a row: a struct from named
    fields, every column but some. -#}


{#- A struct value from named fields: `fields` is a list of [name, SQL
    expression] pairs, in the struct's order. Its fields are read as
    `<column>.<name>` on every engine. -#}
{% macro butter_struct(fields) -%}
    {{ return(adapter.dispatch('butter_struct', 'butter')(fields)) }}
{%- endmacro %}

{% macro default__butter_struct(fields) -%}
    named_struct(
        {%- for name, expr in fields %}
        '{{ name }}', {{ expr }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro duckdb__butter_struct(fields) -%}
    struct_pack(
        {%- for name, expr in fields %}
        {{ name }} := {{ expr }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}


{#- Every column of a row but `columns` (a list of names), as a select-list
    item: `*` without them, of `relation` (a table alias) when given. -#}
{% macro butter_star_except(columns, relation=none) -%}
    {{ return(adapter.dispatch('butter_star_except', 'butter')(columns, relation)) }}
{%- endmacro %}

{% macro default__butter_star_except(columns, relation=none) -%}
    {{ relation ~ '.' if relation else '' }}* except ({{ columns | join(', ') }})
{%- endmacro %}

{% macro duckdb__butter_star_except(columns, relation=none) -%}
    {{ relation ~ '.' if relation else '' }}* exclude ({{ columns | join(', ') }})
{%- endmacro %}
