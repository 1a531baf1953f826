{#- Engine SQL (macros/engine/types.sql says how it is laid out): loading
    seeds, an override of dbt-spark's macro. -#}


{#- Seeds on Spark: dbt-spark 1.11.0's session connection pastes seed values
    into the SQL unescaped (an apostrophe breaks the insert) and writes an
    empty cell as the text 'None'. This renders each value as a SQL literal
    instead: NULL for an empty cell, quotes doubled. Overrides dbt-spark's
    macro of the same name (the root project comes first in dispatch). -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                    {%- set type = column_override.get(col_name, inferred_type) -%}
                    {%- set value = row[loop.index0] -%}
                    cast({{ 'null' if value is none else "'" ~ (value | string | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'" }} as {{ type }})
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{%- endmacro %}
