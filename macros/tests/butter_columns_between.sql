{#- The listed columns of a model lie within their bounds: one row per column
    that does not, with how many rows are out of range. The model-level form of
    butter_column_between (the same rule: bounds included, literals or other
    columns of the row; a NULL value passes, a NULL bound for a non-NULL value
    fails), one test per model reading it once instead of a node per column. -#}
{% test butter_columns_between(model, bounds) %}
{%- set counts = {} -%}
{%- for column, bound in bounds.items() -%}
    {%- if bound.get('min_value') is none and bound.get('max_value') is none -%}
        {{ exceptions.raise_compiler_error(
            "butter_columns_between on " ~ column ~ ": give min_value, max_value or both.") }}
    {%- endif -%}
    {%- set checks = [] -%}
    {%- if bound.get('min_value') is not none -%}
        {%- do checks.append(column ~ ' >= ' ~ bound['min_value']) -%}
    {%- endif -%}
    {%- if bound.get('max_value') is not none -%}
        {%- do checks.append(column ~ ' <= ' ~ bound['max_value']) -%}
    {%- endif -%}
    {%- do counts.update({column: "sum(case when " ~ column ~ " is not null and not coalesce("
        ~ checks | join(' and ') ~ ", false) then 1 else 0 end)"}) -%}
{%- endfor -%}
{{ butter_columns_failing(model, counts, "rows_out_of_range") }}
{% endtest %}
