{#- A model's column rules that dbt writes as a node per column (unique,
    accepted_values, relationships), checked in one test reading the model
    once: one row per (column, rule) that fails, with how many rows do
    (`column_name` is `<column>__<rule>`). NULLs pass every rule, as in dbt's
    tests. unique: no two rows hold the same value. accepted_values: column ->
    its values (strings quoted, numbers as they are). relationships: column ->
    {to, field}: each value is found in that model's column (a left join to its
    distinct values, so the model's rows are not multiplied). -#}
{% test butter_column_rules(model, unique=[], accepted_values={}, relationships={}) %}
{%- set counts = {} -%}
{%- set joined = [model ~ " as checked"] -%}
{%- for column in unique -%}
    {%- do counts.update({column ~ "__unique": "count(" ~ column ~ ") - count(distinct " ~ column ~ ")"}) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append(("'" ~ (value | replace("'", "''")) ~ "'") if value is string else (value | string)) -%}
    {%- endfor -%}
    {%- do counts.update({column ~ "__accepted_values": "sum(case when " ~ column ~ " is not null and "
        ~ column ~ " not in (" ~ literals | join(", ") ~ ") then 1 else 0 end)"}) -%}
{%- endfor -%}
{%- for column, parent in relationships.items() -%}
    {%- set key = "parent_key_" ~ loop.index -%}
    {%- do joined.append("left join (select distinct " ~ parent['field'] ~ " as " ~ key ~ " from " ~ parent['to']
        ~ ") as parent_" ~ loop.index ~ " on checked." ~ column ~ " = parent_" ~ loop.index ~ "." ~ key) -%}
    {%- do counts.update({column ~ "__relationships": "sum(case when checked." ~ column ~ " is not null and "
        ~ "parent_" ~ loop.index ~ "." ~ key ~ " is null then 1 else 0 end)"}) -%}
{%- endfor -%}
{%- if not counts -%}
    {{ exceptions.raise_compiler_error("butter_column_rules: give unique, accepted_values or relationships.") }}
{%- endif -%}
{{ butter_columns_failing(joined | join("\n    "), counts, "failing_rows") }}
{% endtest %}
